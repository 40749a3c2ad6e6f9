"""What comes in through the browser, through the real edge, hub and a real workspace: uploads are capped,
audited with their hash, and refused above the cap with how data enters the enclave.

Files are sent as JupyterLab sends them (enclave.edge.uploads): PUT api/contents/<path> with base64
content, a file over 1 MiB in 1 MiB chunks numbered 1, 2, ..., then -1 for the last. What is left in the
workspace is read from alice's kernel; what is audited from the enclave's audit log.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
import requests
import websocket

from enclave.edge.uploads import MESSAGE_TOO_LARGE, TOO_LARGE
from enclave.state.audit_query import AuditFilter, as_record, find_events
from tests.support.edge import start_edge

MIB = 1024 * 1024
CHUNK = MIB  # JupyterLab's chunk size (@jupyterlab/filebrowser)
RAISED_CAP = 3 * MIB  # the second edge's cap: chunks are written before one is refused


class Uploader:
    """Alice's token, sent to her workspace's contents API through an edge, as her browser would."""

    def __init__(self, base_url: str, workspace):
        self.base = f"{base_url}/user/{workspace.user.name}/{workspace.project}/api/contents"
        self.headers = {"Authorization": f"token {workspace.token}"}

    def put(self, path: str, model: dict) -> requests.Response:
        return requests.put(f"{self.base}/{path}", json=model, headers=self.headers, timeout=120)

    def upload(self, path: str, data: bytes) -> list[requests.Response]:
        """JupyterLab's upload: one PUT for a file up to 1 MiB, else chunks; stops at the first refusal."""
        if len(data) <= CHUNK:
            return [self.put(path, {"type": "file", "format": "base64", "name": path, "content": b64(data)})]
        replies = []
        for start in range(0, len(data), CHUNK):
            chunk = -1 if start + CHUNK >= len(data) else start // CHUNK + 1
            replies.append(
                self.put(
                    path,
                    {
                        "type": "file",
                        "format": "base64",
                        "name": path,
                        "chunk": chunk,
                        "content": b64(data[start : start + CHUNK]),
                    },
                )
            )
            if replies[-1].status_code >= 400:
                break
        return replies


def outcomes(replies: list[requests.Response]) -> list[int | str]:
    """Each reply's status, "ok" for any success (201 for a new file, 200 for one the server appends to)."""
    return ["ok" if r.status_code in (200, 201) else r.status_code for r in replies]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def events(enclave, action: str, **match) -> list[dict]:
    with enclave.ctx.db.reading() as session:
        records = [as_record(e) for e in find_events(session, AuditFilter(action=action))]
    return [r for r in records if all(r["details"].get(k) == v for k, v in match.items())]


def in_workspace(alice_alpha, name: str) -> str:
    """The file's size and SHA-256 as the kernel sees it, or 'absent'."""
    return alice_alpha.run(
        "import hashlib, os\n"
        f"p = '/home/analyst/{name}'\n"
        "print(f'{os.path.getsize(p)} {hashlib.sha256(open(p, \"rb\").read()).hexdigest()}' "
        "if os.path.exists(p) else 'absent')\n"
    ).strip()


@pytest.fixture
def uploader(enclave, alice_alpha):
    return Uploader(enclave.url, alice_alpha)


@pytest.fixture(scope="module")
def raised_cap_edge_url(enclave):
    """A second edge in front of the same hub, whose upload cap is above JupyterLab's chunk size."""
    url, process = start_edge(enclave, ENCLAVE_EDGE_UPLOAD_MAX_BYTES=str(RAISED_CAP))
    try:
        yield url
    finally:
        process.terminate()
        process.wait(30)


def test_a_small_code_file_uploads_and_is_audited_with_its_hash(enclave, uploader, alice_alpha):
    code = b"import polars as pl\nprint(pl.__version__)\n" + os.urandom(8).hex().encode() + b"\n"
    (reply,) = uploader.upload("uploaded_analysis.py", code)
    assert reply.status_code in (200, 201), reply.text
    digest = hashlib.sha256(code).hexdigest()
    assert in_workspace(alice_alpha, "uploaded_analysis.py") == f"{len(code)} {digest}"
    (event,) = events(enclave, "edge.upload", sha256=digest)
    assert event["actor"] == "edge" and event["target"] == "alice" and event["outcome"] == "ok"
    assert (event["details"]["path"], event["details"]["size"], event["details"]["project"]) == (
        "uploaded_analysis.py",
        len(code),
        "alpha",
    )


def test_a_5_mib_file_uploaded_as_jupyterlab_does_is_refused_and_nothing_of_it_is_written(
    enclave, uploader, alice_alpha
):
    data = os.urandom(5 * MIB)
    replies = uploader.upload("large_upload.bin", data)
    assert outcomes(replies) == [413]  # its first chunk fills the 1 MiB cap with more to come
    refused = replies[0]
    assert refused.headers["X-Enclave-Edge"] == "refused"
    body = refused.json()
    assert body["reason"] == TOO_LARGE and "enclave dataset register" in body["message"]
    assert in_workspace(alice_alpha, "large_upload.bin") == "absent"
    (event,) = events(enclave, "edge.refused", reason=TOO_LARGE, path="large_upload.bin")
    assert event["details"]["chunk"] == 1 and event["details"]["user"] == "alice"
    assert event["details"]["sha256"] == hashlib.sha256(data[:CHUNK]).hexdigest()
    assert not events(enclave, "edge.upload", path="large_upload.bin")


def test_under_a_raised_cap_the_chunks_written_before_the_refusal_are_removed(
    enclave, raised_cap_edge_url, alice_alpha
):
    uploader = Uploader(raised_cap_edge_url, alice_alpha)
    replies = uploader.upload("partial_upload.bin", os.urandom(5 * MIB))
    assert outcomes(replies) == ["ok", "ok", 413], [r.text[:200] for r in replies]
    assert in_workspace(alice_alpha, "partial_upload.bin") == "absent"  # the 2 MiB written were deleted
    (event,) = events(enclave, "edge.refused", reason=TOO_LARGE, path="partial_upload.bin")
    assert event["details"]["chunk"] == 3 and event["details"]["partial_removed"] is True
    # Within that cap, a chunked upload arrives whole and is audited once, for the whole file.
    data = os.urandom(2 * MIB + 100)
    assert outcomes(uploader.upload("chunked_upload.bin", data)) == ["ok", "ok", "ok"]
    digest = hashlib.sha256(data).hexdigest()
    assert in_workspace(alice_alpha, "chunked_upload.bin") == f"{len(data)} {digest}"
    (upload,) = events(enclave, "edge.upload", path="chunked_upload.bin")
    assert upload["details"]["sha256"] == digest and upload["details"]["chunked"] is True


def test_a_notebook_save_of_ordinary_size_passes(uploader, alice_alpha):
    cells = [
        {
            "cell_type": "code",
            "source": f"x = {i}\nprint(x)",
            "metadata": {},
            "execution_count": i,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "y" * 2000}],
        }
        for i in range(300)
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # about 700 KB
    reply = uploader.put("uploaded_notebook.ipynb", {"type": "notebook", "format": "json", "content": notebook})
    assert reply.status_code in (200, 201), reply.text
    assert (
        alice_alpha.run(
            "import nbformat; print(len(nbformat.read('/home/analyst/uploaded_notebook.ipynb', as_version=4).cells))"
        ).strip()
        == "300"
    )


def test_a_kernel_message_over_the_cap_closes_the_websocket_and_is_audited(enclave, alice_alpha):
    url = "wss" + enclave.url.removeprefix("https") + "/user/alice/alpha/api/kernels"
    kernel = requests.post(
        url.replace("wss", "https", 1), headers={"Authorization": f"token {alice_alpha.token}"}, timeout=60
    ).json()["id"]
    ws = websocket.create_connection(
        f"{url}/{kernel}/channels", header=[f"Authorization: token {alice_alpha.token}"], timeout=60
    )
    try:
        ws.send("x" * (MIB + 1))  # a file's worth in one message, not typed code
        opcode, data = None, b""
        while opcode != websocket.ABNF.OPCODE_CLOSE:
            opcode, data = ws.recv_data(control_frame=True)
        assert int.from_bytes(data[:2], "big") == 1009
    finally:
        ws.close()
        requests.delete(
            f"{url.replace('wss', 'https', 1)}/{kernel}",
            headers={"Authorization": f"token {alice_alpha.token}"},
            timeout=60,
        )
    assert events(enclave, "edge.refused", reason=MESSAGE_TOO_LARGE, user="alice", size=MIB + 1)
