"""The exfiltration matrix's harness: a payload of real extract information, a browser that takes it
out through the edge, and the ledger's count of what that person received.

The payload is N bytes of INFORMATION, not N bytes of text: the kernel compresses the project's extract
(every Parquet file under /data) with LZMA2 at preset 9 and keeps the first N bytes of the stream. No
honest measure can count that below about N. Each matrix row uses its own salt (written before the
extract, so the whole stream differs): the meter charges what a person already received today only a
reference, so a row must not be hidden behind an earlier row's payload.

The test reads the payload from the analyst's home folder on the host, never through the edge, so that
knowing what to look for costs the person nothing on the ledger.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import websocket

from enclave.state.models import EgressUsage
from harness.kernel import execute_request  # noqa: F401 - the matrix sends its frames through this module

PAYLOAD_DIR = ".matrix"  # in the analyst's home

# Defined once in the kernel; writes ~/.matrix/<salt>.bin and prints its size.
KERNEL_PAYLOAD = """
import glob as _glob, lzma as _lzma, os as _os

def _matrix_payload(salt, n):
    extract = b''.join(open(p, 'rb').read() for p in sorted(_glob.glob('/data/*/*/*.parquet')))
    assert extract, 'the workspace has no extract under /data'
    out, k = b'', 0
    while len(out) < n:
        out += _lzma.compress(f'{salt}/{k}\\n'.encode() + extract, format=_lzma.FORMAT_RAW,
                              filters=[{'id': _lzma.FILTER_LZMA2, 'preset': 9}])
        k += 1
    _os.makedirs('/home/analyst/.matrix', exist_ok=True)
    with open(f'/home/analyst/.matrix/{salt}.bin', 'wb') as f:
        f.write(out[:n])
    return f'/home/analyst/.matrix/{salt}.bin'
"""


def make_payload(workspace, salt: str, n: int) -> bytes:
    """N bytes of the workspace's extract, LZMA-compressed in its kernel; read back from the home on the host."""
    workspace.run(KERNEL_PAYLOAD + f"print(_os.path.getsize(_matrix_payload({salt!r}, {n})))")
    path = home_of(workspace) / PAYLOAD_DIR / f"{salt}.bin"
    data = path.read_bytes()
    assert len(data) == n, f"the payload {path} has {len(data)} bytes, not {n}"
    return data


def home_of(workspace) -> Path:
    settings = workspace.enclave.settings
    return settings.projects_dir / workspace.project / "homes" / workspace.user.name


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url(data: bytes) -> str:
    """File-name safe base64 (no '/', no padding)."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- what came out ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one attempt got: refused (and why), or the payload bytes recovered from what reached the browser."""

    refused: str = ""  # e.g. "403 route-not-allowed"; empty when something was served
    recovered: bytes = b""  # the payload as decoded from what the browser received

    @classmethod
    def refusal(cls, reply: requests.Response, why: str = "") -> Outcome:
        reason = why
        try:
            body = reply.json()
            reason = reason or body.get("reason") or body.get("error") or body.get("message", "")
        except ValueError:
            pass
        return cls(refused=f"{reply.status_code} {reason}".strip())


# --- the ledger -----------------------------------------------------------------------------------------


def counted(enclave, user: str, project: str) -> dict[str, int]:
    """Today's counted bytes (information, not raw length) per channel for one person and project."""
    with enclave.ctx.db.reading() as session:
        rows = session.query(EgressUsage.channel, EgressUsage.bytes).filter(
            EgressUsage.user == user, EgressUsage.project == project
        )
        return {channel: int(value or 0) for channel, value in rows}


def settled(enclave, user: str, project: str, quiet: float = 3.0, timeout: float = 90) -> dict[str, int]:
    """The counts once the edge has flushed (about once a second): unchanged for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = counted(enclave, user, project), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = counted(enclave, user, project)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"the ledger for {user}/{project} did not settle: {last}")


# --- a browser session at the edge ----------------------------------------------------------------------


class EdgeBrowser:
    """One person's token, sent through the enclave's public entrance as their browser's API calls are."""

    def __init__(self, enclave, user, token: str):
        self.enclave = enclave
        self.user = user  # a HubUser (logged in through the hub's form)
        self.token = token
        self.headers = {"Authorization": f"token {token}", "Accept-Encoding": "identity"}

    def workspace(self, project: str) -> str:
        return f"{self.enclave.url}/user/{self.user.name}/{project}"

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, url, headers=headers, timeout=120, allow_redirects=False, **kwargs)

    def websocket(self, url: str) -> websocket.WebSocket:
        ws_url = url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return websocket.create_connection(ws_url, header=[f"Authorization: token {self.token}"], timeout=120)


def read_frames(
    ws: websocket.WebSocket, until, timeout: float = 120, give_up_quietly: bool = False
) -> tuple[list[bytes], int | None]:
    """Frames received until `until(frames)` is true or the socket closes: (frames, close code or None).

    When nothing arrives for `timeout` seconds: fail, or with `give_up_quietly` return what arrived."""
    frames: list[bytes] = []
    ws.settimeout(timeout)
    while not until(frames):
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return frames, None
        except websocket.WebSocketTimeoutException:
            if give_up_quietly:
                return frames, None
            raise AssertionError(f"nothing more arrived on the websocket after {len(frames)} frames")
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return frames, int.from_bytes(data[:2], "big") if len(data) >= 2 else None
        if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
            frames.append(data)
    return frames, None


def kernel_messages(frames: list[bytes], msg_id: str) -> list[dict]:
    """The kernel's JSON messages answering one request (binary frames are not sent by these kernels)."""
    found = []
    for frame in frames:
        try:
            msg = json.loads(frame)
        except ValueError:
            continue
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            found.append(msg)
    return found


def idle(msg_id: str):
    """`until` for read_frames: the kernel reported idle after running the request."""

    def done(frames: list[bytes]) -> bool:
        return bool(frames) and any(
            m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
            for m in kernel_messages(frames[-1:], msg_id)
        )

    return done
