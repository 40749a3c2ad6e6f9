"""A Jupyter kernel client that talks the kernel protocol through the hub's proxy, as a browser does."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import requests
import websocket


@dataclass
class Execution:
    stdout: str = ""
    stderr: str = ""
    error: str | None = None  # "ExceptionName: message"
    results: list = field(default_factory=list)


def execute_request(code: str, username: str = "analyst") -> tuple[str, str]:
    """A kernel execute_request as JupyterLab sends it: (its msg_id, the JSON frame)."""
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "username": username,
            "session": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "channel": "shell",
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
    }
    return msg_id, json.dumps(message)


class KernelSession:
    def __init__(
        self,
        server_url: str,
        headers: dict,
        cookies: dict | None = None,
        kernel_id: str | None = None,
        kernel_name: str = "python3",
    ):
        """A new kernel of the named kernelspec (e.g. "ir" for R), or (kernel_id) a connection to one
        already running, as a browser reconnects."""
        self.server_url = server_url.rstrip("/")  # e.g. https://127.0.0.1:8000/user/alice/alpha
        self.headers = headers
        self.cookies = cookies or {}
        if kernel_id is None:
            reply = requests.post(
                f"{self.server_url}/api/kernels",
                headers=headers,
                cookies=self.cookies,
                json={"name": kernel_name},
                timeout=60,
            )
            reply.raise_for_status()
            kernel_id = reply.json()["id"]
        self.kernel_id = kernel_id
        ws_url = "ws" + self.server_url.removeprefix("http") + f"/api/kernels/{self.kernel_id}/channels"
        header = [f"{k}: {v}" for k, v in headers.items()]
        self.ws = websocket.create_connection(ws_url, header=header, timeout=120)

    def execute(self, code: str, timeout: float = 120) -> Execution:
        msg_id, frame = execute_request(code)
        self.ws.send(frame)
        result = Execution()
        self.ws.settimeout(timeout)
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    result.stdout += content["text"]
                else:
                    result.stderr += content["text"]
            elif kind == "error":
                result.error = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_result":
                result.results.append(content["data"].get("text/plain"))
            elif kind == "status" and content["execution_state"] == "idle":
                return result

    def run(self, code: str) -> str:
        """Execute and return stdout; raise if the code raised."""
        outcome = self.execute(code)
        if outcome.error:
            raise AssertionError(f"kernel raised {outcome.error}\nstderr: {outcome.stderr}")
        return outcome.stdout

    def close(self) -> None:
        try:
            self.ws.close()
            requests.delete(
                f"{self.server_url}/api/kernels/{self.kernel_id}",
                headers=self.headers,
                cookies=self.cookies,
                timeout=30,
            )
        except Exception:  # noqa: BLE001 - best effort at teardown
            pass
