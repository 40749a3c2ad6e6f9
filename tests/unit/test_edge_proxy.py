"""The edge's proxy mechanics against a small upstream web server this test starts on 127.0.0.1.

The real hub behind the real edge is tested in tests/security/test_edge.py; here the upstream is an
aiohttp app standing in for the hub's proxy, so that streaming, websockets, metering cuts and the
plain-HTTP answer can be driven exactly. The meter is a recording stand-in with a byte budget (the real
one, enclave.metering, has its own tests).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys

import aiohttp
import pytest
from aiohttp import web

from enclave.edge.listener import EdgeListener, plain_http_application
from enclave.edge.proxy import EdgeProxy
from enclave.edge.refusals import RefusalAudit
from enclave.edge.serve import edge_runner
from enclave.edge.tls import make_self_signed, server_context
from enclave.state.db import StateDB

pytestmark = pytest.mark.unit

WS = "/user/alice/alpha"


class BudgetMeter:
    def __init__(self, budget: int = 10**9, blocked: bool = False):
        self.budget, self.is_blocked, self.counted = budget, blocked, []

    def count(self, user, project, nbytes, channel) -> bool:
        self.counted.append((user, project, nbytes, channel))
        return sum(c[2] for c in self.counted) <= self.budget

    def blocked(self, user, project) -> bool:
        return self.is_blocked


def upstream_app(seen: list) -> web.Application:
    async def echo(request):
        seen.append(dict(request.headers))
        body = await request.read()
        reply = web.json_response({"path": request.raw_path, "body": body.decode(), "method": request.method})
        reply.set_cookie("session", "s1", httponly=True, samesite="Lax")
        return reply

    async def big(request):
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"x" * 10_000)
        return response

    async def contents(request):
        if request.match_info["path"] == "encoded.txt":
            return web.Response(body=b"\x1f\x8b...", headers={"Content-Encoding": "gzip"})
        size = int(request.query.get("size", "10"))
        kind = request.query.get("type", "file")
        content = {"cells": ["y" * size]} if kind == "notebook" else "y" * size
        return web.json_response({"name": "f", "content": content, "format": "text", "type": kind})

    async def gzipped(request):
        return web.Response(body=b"\x1f\x8b...", headers={"Content-Encoding": "gzip"})

    async def socket_handler(request):
        ws = web.WebSocketResponse(protocols=["v1.kernel.websocket.jupyter.org"])
        await ws.prepare(request)
        async for message in ws:
            if message.data == "flood":
                for _ in range(50):
                    await ws.send_bytes(b"z" * 1000)
            else:
                await ws.send_str(f"echo:{message.data}")
        return ws

    app = web.Application()
    app.router.add_get(WS + "/api/big", big)
    app.router.add_get(WS + "/api/contents/{path}", contents)
    app.router.add_get(WS + "/api/gz", gzipped)
    app.router.add_get(WS + "/api/kernels/k/channels", socket_handler)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """Upstream on one port, the edge (TLS and plain HTTP on one port) in front of it."""

    def __init__(self, tmp_path, meter):
        self.tmp_path, self.meter, self.seen = tmp_path, meter, []

    async def __aenter__(self):
        self.upstream = web.AppRunner(upstream_app(self.seen), max_field_size=65536)
        await self.upstream.setup()
        up_port = free_port()
        await web.TCPSite(self.upstream, "127.0.0.1", up_port).start()
        self.cert = make_self_signed(self.tmp_path / "tls", (["localhost"], ["127.0.0.1"]))
        self.db = StateDB(f"sqlite:///{self.tmp_path / 'state.sqlite'}")
        proxy = EdgeProxy(f"http://127.0.0.1:{up_port}", self.meter, RefusalAudit(self.db),
                          declared_apps=frozenset(), contents_limit=1000, public_port=0)
        self.edge = edge_runner(proxy.application())
        self.plain = web.AppRunner(plain_http_application(0))
        await self.edge.setup()
        await self.plain.setup()
        self.port = free_port()
        self.listener = EdgeListener(self.edge, self.plain, "127.0.0.1", self.port, server_context(self.cert))
        await self.listener.start()
        self.client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(self.cert.cert))))
        self.url = f"https://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc):
        await self.client.close()
        await self.listener.stop()
        await self.edge.cleanup()
        await self.plain.cleanup()
        await self.upstream.cleanup()


def run(coro):
    return asyncio.run(coro)


def test_requests_and_bodies_pass_both_ways_with_the_edges_forwarding_headers(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            reply = await s.client.post(f"{s.url}{WS}/api/sessions?x=1%202", data=b"hello",
                                        headers={"X-Forwarded-For": "10.6.6.6"})
            body = await reply.json()
            assert body == {"path": f"{WS}/api/sessions?x=1%202", "body": "hello", "method": "POST"}
            sent = s.seen[-1]
            assert sent["X-Forwarded-For"] == "127.0.0.1" and sent["X-Forwarded-Proto"] == "https"
            assert reply.headers["Set-Cookie"].endswith("Secure") and "HttpOnly" in reply.headers["Set-Cookie"]
            assert "connect-src 'self'" in reply.headers["Content-Security-Policy"]
            assert s.meter.counted and s.meter.counted[-1][:2] == ("alice", "alpha")
            assert {c[3] for c in s.meter.counted} == {"other-api"}
    run(scenario())


def test_large_cookie_headers_pass(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            # ~12 KB: over aiohttp's default 8 KiB, under the 16 KiB the hub's proxy (node) accepts.
            cookies = "; ".join(f"jupyterhub-user-alice-project{i}={'c' * 300}" for i in range(36))
            assert (await s.client.get(f"{s.url}/hub/home", headers={"Cookie": cookies})).status == 200
            assert s.seen[-1]["Cookie"] == cookies
    run(scenario())


def test_static_and_hub_pages_are_not_metered(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            for path in ("/hub/login", f"{WS}/static/x.js", f"{WS}/lab"):
                assert (await s.client.get(s.url + path)).status == 200
            assert s.meter.counted == []
    run(scenario())


def test_a_response_is_cut_when_the_budget_is_spent(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter(budget=300_000)) as s:
            reply = await s.client.get(f"{s.url}{WS}/api/big")
            with pytest.raises(aiohttp.ClientPayloadError):
                await reply.read()  # 1,000,000 bytes promised, cut after about 300,000
            assert sum(c[2] for c in s.meter.counted) < 400_000
    run(scenario())


def test_a_blocked_workspace_gets_429_on_data_routes_only(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter(blocked=True)) as s:
            reply = await s.client.get(f"{s.url}{WS}/api/kernels")
            assert reply.status == 429 and reply.headers["X-Enclave-Edge"] == "refused"
            assert (await s.client.get(f"{s.url}/hub/home")).status == 200
    run(scenario())


def test_websockets_relay_both_ways_with_the_subprotocol_and_close_when_the_budget_is_spent(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter(budget=20_000)) as s:
            ws = await s.client.ws_connect(f"wss://127.0.0.1:{s.port}{WS}/api/kernels/k/channels",
                                           protocols=["v1.kernel.websocket.jupyter.org"])
            assert ws.protocol == "v1.kernel.websocket.jupyter.org"
            await ws.send_str("ping")
            assert (await ws.receive()).data == "echo:ping"
            await ws.send_str("flood")
            received = 0
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    received += len(message.data)
            assert received <= 20_000 and ws.close_code == 1008
            assert {c[3] for c in s.meter.counted} == {"kernel"}
    run(scenario())


def test_contents_over_the_limit_are_refused_and_audited_notebooks_pass(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            small = await s.client.get(f"{s.url}{WS}/api/contents/a.txt?size=900")
            assert small.status == 200 and len((await small.json())["content"]) == 900
            large = await s.client.get(f"{s.url}{WS}/api/contents/a.txt?size=1001")
            assert large.status == 403 and (await large.json())["reason"] == "contents-too-large"
            notebook = await s.client.get(f"{s.url}{WS}/api/contents/a.ipynb?size=500000&type=notebook")
            assert notebook.status == 200  # passed on as soon as its content showed it is a notebook ...
            assert len((await notebook.json())["content"]["cells"][0]) == 500000  # ... and nothing was lost
            assert s.seen == []  # none of these went to the echo route
        with s.db.reading() as session:
            from enclave.state.models import AuditEvent
            events = session.query(AuditEvent).filter_by(action="edge.refused").all()
            assert [e.details["reason"] for e in events] == ["contents-too-large"]
    run(scenario())


def test_an_encoded_contents_answer_is_refused_as_unreadable(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            reply = await s.client.get(f"{s.url}{WS}/api/contents/encoded.txt")
            assert reply.status == 403 and (await reply.json())["reason"] == "contents-unreadable"
            assert (await s.client.get(f"{s.url}{WS}/api/gz")).status == 200  # elsewhere, encodings pass as is
    run(scenario())


def test_plain_http_on_the_same_port_is_redirected_or_refused(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            async with aiohttp.ClientSession() as plain:
                got = await plain.get(f"http://127.0.0.1:{s.port}/hub/login?next=x", allow_redirects=False)
                assert got.status == 301 and got.headers["Location"] == "https://127.0.0.1:0/hub/login?next=x"
                posted = await plain.post(f"http://127.0.0.1:{s.port}/hub/login", data=b"a")
                assert posted.status == 400 and posted.headers["X-Enclave-Edge"] == "refused"
            assert s.seen == []
    run(scenario())


def test_the_edge_does_not_start_without_metering(tmp_path):
    code = "import runpy, sys; sys.modules['enclave.metering'] = None; runpy.run_module('enclave.edge', run_name='__main__')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={"ENCLAVE_STATE_DIR": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 3 and "cannot start without its metering" in result.stderr
