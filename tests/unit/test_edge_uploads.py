"""What comes in through the edge: the caps on uploads and request bodies, chunked uploads tracked per file,
websocket messages capped, and every upload and refusal audited with its size and SHA-256.

The policy is tested as pure functions; the proxy's part against a small upstream this test starts on
127.0.0.1 that writes files as jupyter_server's LargeFileManager does (chunk 1 writes, any other number
appends), so that what is left behind can be read back. The real workspace behind the real edge is tested in
tests/integration/test_uploads.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import aiohttp
import pytest
from aiohttp import web

from enclave.edge.policy import decide
from enclave.edge.proxy import EdgeProxy
from enclave.edge.refusals import RefusalAudit
from enclave.edge.serve import edge_runner
from enclave.edge.uploads import (
    HOW_DATA_ENTERS,
    MESSAGE_TOO_LARGE,
    NO_LENGTH,
    REQUEST_TOO_LARGE,
    SEQUENCE_IDLE_SECONDS,
    TOO_LARGE,
    UNREADABLE,
    UNTRACKED_CHUNK,
    ChunkedUploads,
    InboundGate,
    Refusal,
    Unreadable,
    Upload,
    UploadLimits,
    read_contents_write,
)
from enclave.state.db import StateDB
from enclave.state.models import AuditEvent
from tests.support.edge_stand_ins import BudgetMeter, static_assets
from tests.support.ports import free_port

WS = "/user/alice/alpha"
KIB = 1024
CAP = 10 * KIB
KEY = ("alice", "alpha", "data.csv")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def put(content: bytes | str, fmt: str = "base64", chunk: int | None = None, kind: str = "file") -> bytes:
    model = {"type": kind, "format": fmt, "name": "x", "content": b64(content) if fmt == "base64" else content}
    if chunk is not None:
        model["chunk"] = chunk
    return json.dumps(model).encode()


def judge(gate: InboundGate, body: bytes, path: str = "data.csv", method: str = "PUT"):
    return gate.judge_contents_write(method, decide(method, f"{WS}/api/contents/{path}"), body)


# --- the policy ------------------------------------------------------------------------------------------


def test_a_small_code_file_passes_and_is_to_be_audited_with_its_size_and_sha256():
    code = b"print('hello')\n"
    for fmt, content in (("base64", code), ("text", code.decode())):
        upload = judge(InboundGate(UploadLimits(CAP)), put(content, fmt), "analysis.py")
        assert isinstance(upload, Upload)
        assert upload.facts == {
            "path": "analysis.py",
            "size": len(code),
            "sha256": hashlib.sha256(code).hexdigest(),
            "format": fmt,
        }


def test_a_file_over_the_cap_is_refused_with_how_data_enters():
    refusal = judge(InboundGate(UploadLimits(CAP)), put(b"x" * (CAP + 1)))
    assert isinstance(refusal, Refusal) and refusal.status == 413 and refusal.reason == TOO_LARGE
    assert "enclave dataset register" in refusal.message and HOW_DATA_ENTERS in refusal.message
    assert refusal.facts["size"] == CAP + 1 and refusal.facts["sha256"] == hashlib.sha256(b"x" * (CAP + 1)).hexdigest()
    assert isinstance(judge(InboundGate(UploadLimits(CAP)), put(b"x" * CAP)), Upload)  # the cap itself passes


def test_text_is_measured_in_the_bytes_written_not_in_characters():
    assert isinstance(judge(InboundGate(UploadLimits(CAP)), put("é" * (CAP // 2 + 1), "text")), Refusal)


def test_notebook_saves_pass_whatever_their_size_and_a_large_one_is_audited():
    gate = InboundGate(UploadLimits(CAP))
    small = json.dumps({"type": "notebook", "content": {"cells": [], "metadata": {}}}).encode()
    assert judge(gate, small, "a.ipynb") is None  # an ordinary save: nothing to audit
    large = json.dumps({"type": "notebook", "content": {"cells": ["y" * (3 * CAP)]}}).encode()
    upload = judge(gate, large, "a.ipynb")
    assert isinstance(upload, Upload) and upload.facts["notebook"] is True
    assert upload.facts["size"] == len(large) and upload.facts["sha256"] == hashlib.sha256(large).hexdigest()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'"a string"',  # not a JSON object
        json.dumps({"type": "file", "format": "base64", "content": "@@not base64@@="}).encode(),
        json.dumps({"type": "file", "format": "text", "content": {"an": "object"}}).encode(),
        json.dumps({"type": "file", "format": "base64", "content": "QQ==", "chunk": "2"}).encode(),
        json.dumps({"type": "file", "format": "base64", "content": "QQ==", "chunk": True}).encode(),
    ],
)
def test_a_contents_write_the_edge_cannot_read_is_refused(body):
    refusal = judge(InboundGate(UploadLimits(CAP)), body)
    assert isinstance(refusal, Refusal) and refusal.status == 400 and refusal.reason == UNREADABLE


def test_writes_that_carry_nothing_pass_unaudited():
    gate = InboundGate(UploadLimits(CAP))
    assert judge(gate, b"") is None  # a new untitled file
    assert judge(gate, json.dumps({"type": "directory"}).encode(), "folder") is None
    assert judge(gate, json.dumps({"type": "file", "format": "text", "content": ""}).encode()) is None
    assert judge(gate, json.dumps({"copy_from": "a.py"}).encode(), "", "POST") is None
    assert judge(gate, json.dumps({"path": "b.py"}).encode(), "a.py", "PATCH") is None
    assert isinstance(judge(gate, b"nope", "a.py", "PATCH"), Refusal)


def test_unknown_types_are_judged_as_files_as_the_server_writes_them():
    refusal = judge(InboundGate(UploadLimits(CAP)), put(b"x" * (CAP + 1), kind="blob"))
    assert isinstance(refusal, Refusal) and refusal.reason == TOO_LARGE
    with pytest.raises(Unreadable):
        read_contents_write("PUT", "x", b"{")


def test_request_bodies_must_say_their_length_and_stay_within_the_request_cap():
    gate = InboundGate(UploadLimits(CAP, 100 * KIB))
    assert gate.check_length(False, None) is None and gate.check_length(True, 100 * KIB) is None
    assert gate.check_length(True, None).reason == NO_LENGTH and gate.check_length(True, None).status == 411
    too_large = gate.check_length(True, 100 * KIB + 1)
    assert too_large.status == 413 and too_large.reason == REQUEST_TOO_LARGE


def test_a_chunked_upload_within_the_cap_is_audited_once_for_the_whole_file():
    chunks = ChunkedUploads(CAP)
    parts = [b"a" * 3 * KIB, b"b" * 3 * KIB, b"c" * 3 * KIB]
    assert chunks.admit(KEY, 1, parts[0]) is None
    assert chunks.admit(KEY, 2, parts[1]) is None
    upload = chunks.admit(KEY, -1, parts[2])
    assert isinstance(upload, Upload)
    assert upload.facts == {
        "path": "data.csv",
        "size": 9 * KIB,
        "chunked": True,
        "sha256": hashlib.sha256(b"".join(parts)).hexdigest(),
    }


def test_a_chunked_upload_is_refused_as_soon_as_it_cannot_end_within_the_cap():
    # JupyterLab's chunks are 1 MiB and the default cap is 1 MiB: a first chunk that fills the cap and is not
    # the last promises more, so it is refused before anything is written.
    first = ChunkedUploads(CAP).admit(KEY, 1, b"x" * CAP)
    assert isinstance(first, Refusal) and first.reason == TOO_LARGE and not first.remove_partial
    assert first.facts["file_size_at_least"] == CAP + 1
    # A later chunk over the cap: the chunks already written are to be removed.
    chunks = ChunkedUploads(CAP)
    assert chunks.admit(KEY, 1, b"x" * 6 * KIB) is None
    later = chunks.admit(KEY, 2, b"x" * 4 * KIB)
    assert isinstance(later, Refusal) and later.reason == TOO_LARGE and later.remove_partial
    assert isinstance(chunks.admit(KEY, -1, b"x"), Refusal)  # the upload is over: nothing continues it


def test_the_last_chunk_may_fill_the_cap_exactly():
    chunks = ChunkedUploads(CAP)
    assert chunks.admit(KEY, 1, b"x" * (CAP - 1)) is None
    assert isinstance(chunks.admit(KEY, -1, b"x"), Upload)


@pytest.mark.parametrize("chunk", [2, 3, -1, 0, -2])
def test_a_chunk_that_continues_no_tracked_upload_is_refused(chunk):
    refusal = ChunkedUploads(CAP).admit(KEY, chunk, b"x")
    assert isinstance(refusal, Refusal) and refusal.status == 409 and refusal.reason == UNTRACKED_CHUNK
    assert not refusal.remove_partial  # nothing of this upload was written: whatever is there stays


def test_chunks_out_of_order_or_under_another_name_are_refused():
    chunks = ChunkedUploads(CAP)
    assert chunks.admit(KEY, 1, b"x") is None
    assert chunks.admit(("alice", "alpha", "other.csv"), 2, b"x").reason == UNTRACKED_CHUNK
    assert chunks.admit(("bob", "alpha", "data.csv"), 2, b"x").reason == UNTRACKED_CHUNK
    skipped = chunks.admit(KEY, 3, b"x")
    assert skipped.reason == UNTRACKED_CHUNK and skipped.remove_partial  # chunk 1 was written: removed
    assert chunks.admit(KEY, 2, b"x").reason == UNTRACKED_CHUNK  # and the upload is over


def test_a_write_rename_or_deletion_ends_the_upload_tracked_there():
    gate = InboundGate(UploadLimits(CAP))
    for ending in (
        lambda: judge(gate, put(b"small")),  # replaced by an ordinary save
        lambda: judge(gate, json.dumps({"path": "moved.csv"}).encode(), method="PATCH"),
        lambda: gate.forget(decide("DELETE", f"{WS}/api/contents/data.csv")),
        lambda: gate.forget(decide("DELETE", f"{WS}/api/contents/")),  # a folder above it
        lambda: gate.forget(decide("PUT", f"{WS}/api/contents/data.csv")),
    ):  # a write not taken
        assert judge(gate, put(b"x", chunk=1)) is None
        ending()
        assert judge(gate, put(b"x", chunk=2)).reason == UNTRACKED_CHUNK
    assert judge(gate, put(b"x", chunk=1), "sub/data.csv") is None
    gate.forget(decide("DELETE", f"{WS}/api/contents/sub"))
    assert judge(gate, put(b"x", chunk=2), "sub/data.csv").reason == UNTRACKED_CHUNK


def test_a_rename_onto_a_path_ends_the_upload_there_however_the_path_is_spelled():
    gate = InboundGate(UploadLimits(CAP))
    assert judge(gate, put(b"x", chunk=1), "sub/x.csv") is None
    assert judge(gate, json.dumps({"path": "./sub//x.csv"}).encode(), "other.csv", "PATCH") is None
    assert judge(gate, put(b"x", chunk=2), "sub/x.csv").reason == UNTRACKED_CHUNK


def test_an_upload_left_idle_is_forgotten():
    now = [0.0]
    chunks = ChunkedUploads(CAP, clock=lambda: now[0])
    assert chunks.admit(KEY, 1, b"x") is None
    now[0] += SEQUENCE_IDLE_SECONDS + 1
    assert chunks.admit(KEY, 2, b"x").reason == UNTRACKED_CHUNK


def test_websocket_messages_are_capped_one_by_one():
    gate = InboundGate(UploadLimits(CAP))
    assert gate.message_refusal(CAP) is None
    refusal = gate.message_refusal(CAP + 1)
    assert refusal.status == 1009 and refusal.reason == MESSAGE_TOO_LARGE and "dataset register" in refusal.message


# --- through the edge --------------------------------------------------------------------------------------


def workspace_app(files: dict[str, bytes], seen: list) -> web.Application:
    """A workspace's contents API as jupyter_server writes files: chunk 1 (or none) writes, others append."""

    async def contents(request):
        path = request.match_info["path"]
        body = await request.read()
        seen.append((request.method, path, len(body)))
        if request.method == "DELETE":
            return web.Response(status=204) if files.pop(path, None) is not None else web.Response(status=404)
        model = json.loads(body) if body else {}
        if model.get("type") == "notebook":
            files[path] = body
        else:
            data = (
                base64.decodebytes(model.get("content", "").encode())
                if model.get("format") == "base64"
                else model.get("content", "").encode()
            )
            chunk = model.get("chunk")
            files[path] = data if chunk in (None, 1) else files.get(path, b"") + data
        return web.json_response({"name": path, "path": path, "type": "file"}, status=201)

    async def socket_handler(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(f"got {len(message.data)}")
        return ws

    app = web.Application(client_max_size=0)
    app.router.add_get(WS + "/api/kernels/k/channels", socket_handler)
    app.router.add_route("*", WS + "/api/contents/{path:.*}", contents)

    async def anything(request):
        return web.json_response({})

    app.router.add_route("*", WS + "/{tail:.*}", anything)
    return app


class Edge:
    """The workspace stand-in on one port, the edge in front of it (plain HTTP: TLS is not what is tested)."""

    def __init__(self, tmp_path, limits: UploadLimits):
        self.tmp_path, self.limits, self.files, self.seen = tmp_path, limits, {}, []

    async def __aenter__(self):
        self.upstream = web.AppRunner(workspace_app(self.files, self.seen))
        await self.upstream.setup()
        up_port = free_port()
        await web.TCPSite(self.upstream, "127.0.0.1", up_port).start()
        self.db = StateDB(f"sqlite:///{self.tmp_path / 'state.sqlite'}")
        proxy = EdgeProxy(
            f"http://127.0.0.1:{up_port}",
            BudgetMeter(),
            RefusalAudit(self.db),
            static_assets(self.tmp_path / "static"),
            declared_apps=frozenset(),
            contents_limit=1000,
            public_port=0,
            upload_limits=self.limits,
        )
        self.edge = edge_runner(proxy.application())
        await self.edge.setup()
        port = free_port()
        await web.TCPSite(self.edge, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}{WS}"
        self.client = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc):
        await self.client.close()
        await self.edge.cleanup()
        await self.upstream.cleanup()

    async def put(self, path: str, body: bytes) -> aiohttp.ClientResponse:
        return await self.client.put(
            f"{self.url}/api/contents/{path}", data=body, headers={"Content-Type": "application/json"}
        )

    def events(self, action: str) -> list[dict]:
        with self.db.reading() as session:
            rows = session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.seq).all()
            return [{"target": e.target, "outcome": e.outcome, **e.details} for e in rows]


async def jupyterlab_upload(edge: Edge, path: str, data: bytes, chunk_size: int) -> list[int]:
    """Upload as JupyterLab does: base64 chunks numbered 1, 2, ..., -1 for the last; stop at the first error."""
    statuses = []
    for start in range(0, len(data), chunk_size):
        last = start + chunk_size >= len(data)
        reply = await edge.put(
            path, put(data[start : start + chunk_size], chunk=-1 if last else start // chunk_size + 1)
        )
        statuses.append(reply.status)
        if reply.status >= 400:
            break
    return statuses


def run(coro):
    return asyncio.run(coro)


def test_through_the_edge_a_small_file_is_written_and_audited_with_its_hash(tmp_path):
    async def scenario():
        async with Edge(tmp_path, UploadLimits(CAP)) as edge:
            code = b"import polars as pl\n"
            assert (await edge.put("analysis.py", put(code))).status == 201
            assert edge.files["analysis.py"] == code
            (event,) = edge.events("edge.upload")
            assert event["target"] == "alice" and event["outcome"] == "ok" and event["project"] == "alpha"
            assert (event["path"], event["size"], event["sha256"]) == (
                "analysis.py",
                len(code),
                hashlib.sha256(code).hexdigest(),
            )

    run(scenario())


def test_through_the_edge_a_large_file_is_refused_unwritten_and_the_refusal_audited(tmp_path):
    async def scenario():
        async with Edge(tmp_path, UploadLimits(CAP)) as edge:
            data = bytes(range(256)) * 200  # 50 KiB, in chunks of 10 KiB: the first fills the cap
            assert await jupyterlab_upload(edge, "big.bin", data, CAP) == [413]
            assert "big.bin" not in edge.files and edge.seen == []  # never reached the workspace
            (refused,) = edge.events("edge.refused")
            assert refused["reason"] == TOO_LARGE and refused["path"] == "big.bin" and refused["chunk"] == 1
            assert refused["sha256"] == hashlib.sha256(data[:CAP]).hexdigest()
            assert edge.events("edge.upload") == []

    run(scenario())


def test_through_the_edge_a_partial_upload_is_removed_when_a_later_chunk_is_refused(tmp_path):
    async def scenario():
        async with Edge(tmp_path, UploadLimits(3 * CAP)) as edge:
            edge.files["big.bin"] = b"an older file of that name"
            data = b"z" * 5 * CAP
            statuses = await jupyterlab_upload(edge, "big.bin", data, CAP)
            assert statuses == [201, 201, 413]  # the third chunk would fill the cap with more to come
            assert "big.bin" not in edge.files  # the two chunks written are removed
            (refused,) = edge.events("edge.refused")
            assert refused["partial_removed"] is True and refused["chunk"] == 3
            # Within the cap, the whole file arrives and is audited once.
            statuses = await jupyterlab_upload(edge, "fits.bin", b"y" * (3 * CAP - 1), CAP)
            assert statuses == [201, 201, 201] and edge.files["fits.bin"] == b"y" * (3 * CAP - 1)
            (upload,) = edge.events("edge.upload")
            assert upload["size"] == 3 * CAP - 1 and upload["chunked"] is True

    run(scenario())


def test_through_the_edge_appending_to_a_file_without_an_upload_is_refused(tmp_path):
    async def scenario():
        async with Edge(tmp_path, UploadLimits(CAP)) as edge:
            assert (await edge.put("grow.csv", put(b"x" * 100))).status == 201
            for _ in range(3):  # the server would append each: a file grown past any cap
                assert (await edge.put("grow.csv", put(b"x" * (CAP - 1), chunk=2))).status == 409
            assert edge.files["grow.csv"] == b"x" * 100

    run(scenario())


def test_through_the_edge_bodies_without_a_length_or_over_the_request_cap_are_refused(tmp_path):
    async def scenario():
        async with Edge(tmp_path, UploadLimits(CAP, 4 * CAP)) as edge:

            async def streamed():
                yield put(b"x")

            reply = await edge.client.put(f"{edge.url}/api/contents/a.py", data=streamed())
            assert reply.status == 411 and (await reply.json())["reason"] == NO_LENGTH
            notebook = json.dumps({"type": "notebook", "content": {"cells": ["n" * 5 * CAP]}}).encode()
            assert (await edge.put("a.ipynb", notebook)).status == 413
            settings = await edge.client.put(f"{edge.url}/lab/api/settings/@x/y:z", data=b"s" * (4 * CAP + 1))
            assert settings.status == 413 and (await settings.json())["reason"] == REQUEST_TOO_LARGE
            assert (await edge.put("b.py", b"not json")).status == 400
            assert edge.seen == [] and edge.files == {}
            assert [e["reason"] for e in edge.events("edge.refused")] == [
                NO_LENGTH,
                REQUEST_TOO_LARGE,
                REQUEST_TOO_LARGE,
                UNREADABLE,
            ]
            ordinary = json.dumps({"type": "notebook", "content": {"cells": ["n" * 3 * CAP]}}).encode()
            assert (await edge.put("a.ipynb", ordinary)).status == 201 and edge.files["a.ipynb"] == ordinary

    run(scenario())


def test_through_the_edge_a_websocket_message_over_the_cap_closes_it_and_inbound_volume_is_audited(tmp_path):
    async def scenario():
        async with Edge(tmp_path, UploadLimits(CAP)) as edge:
            url = edge.url.replace("http", "ws", 1) + "/api/kernels/k/channels"
            ws = await edge.client.ws_connect(url)
            await ws.send_str("1 + 1")
            assert (await ws.receive()).data == "got 5"
            await ws.send_bytes(b"f" * (CAP + 1))
            closed = await ws.receive()
            assert closed.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1009
        (refused,) = edge.events("edge.refused")
        assert refused["reason"] == MESSAGE_TOO_LARGE and refused["size"] == CAP + 1
        (inbound,) = edge.events("edge.inbound")
        assert (inbound["bytes"], inbound["messages"], inbound["channel"]) == (5, 1, "kernel")

    run(scenario())
