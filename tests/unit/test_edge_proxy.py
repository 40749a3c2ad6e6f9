"""The edge's proxy mechanics against a small upstream web server this test starts on 127.0.0.1.

The real hub behind the real edge is tested in tests/integration/security/test_edge.py; here the upstream is an
aiohttp app standing in for the hub's proxy, so that streaming, websockets, metering cuts and the
plain-HTTP answer can be driven exactly. The meter is a recording stand-in with a byte budget that counts
raw bytes (the real one, enclave.metering, measures information and has its own tests).
"""

from __future__ import annotations

import asyncio
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
from tests.support.edge_stand_ins import BudgetMeter, static_assets
from tests.support.ports import free_port

WS = "/user/alice/alpha"


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

    async def claims(request):
        """A workspace (or anything behind the edge) trying to choose whom it is counted against."""
        return web.Response(
            text="mine",
            headers={
                "X-Enclave-Recipient": request.query.get("as", "bob"),
                "X-Enclave-Project": "beta",
                "X-Enclave-Edge": "refused",
            },
        )

    async def named(request):
        """A hub or airlock answer: its size from ?size=, its recipient (and project) from the query."""
        body = b"n" * int(request.query.get("size", "100"))
        headers = {
            k: v
            for k, v in (
                ("X-Enclave-Recipient", request.query.get("to")),
                ("X-Enclave-Project", request.query.get("project")),
                ("X-Enclave-Released", request.query.get("released")),
            )
            if v
        }
        if request.query.get("chunked"):
            response = web.StreamResponse(headers=headers)
            await response.prepare(request)
            for start in range(0, len(body), 1000):
                await response.write(body[start : start + 1000])
            return response
        return web.Response(body=body, headers=headers)

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
    app.router.add_get(WS + "/lab", big)
    app.router.add_get(WS + "/api/contents/{path}", contents)
    app.router.add_get(WS + "/api/status", gzipped)
    app.router.add_get(WS + "/api/me", claims)
    app.router.add_get(WS + "/api/kernels/k/channels", socket_handler)
    app.router.add_get(WS + "/api/events/subscribe", socket_handler)
    app.router.add_get("/hub/api/named", named)
    app.router.add_get("/services/egress-review/named", named)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


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
        proxy = EdgeProxy(
            f"http://127.0.0.1:{up_port}",
            self.meter,
            RefusalAudit(self.db),
            static_assets(self.tmp_path / "static"),
            declared_apps=frozenset({"spark-ui"}),
            contents_limit=1000,
            public_port=0,
        )
        self.edge = edge_runner(proxy.application())
        self.plain = web.AppRunner(plain_http_application(0))
        await self.edge.setup()
        await self.plain.setup()
        self.port = free_port()
        self.listener = EdgeListener(self.edge, self.plain, "127.0.0.1", self.port, server_context(self.cert))
        await self.listener.start()
        self.client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(self.cert.cert)))
        )
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
            reply = await s.client.post(
                f"{s.url}{WS}/api/sessions?x=1%202", data=b"hello", headers={"X-Forwarded-For": "10.6.6.6"}
            )
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


def test_every_workspace_response_is_metered_head_included(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            reply = await s.client.get(f"{s.url}{WS}/lab/tree/x.ipynb")
            body = await reply.read()
            head = s.meter.sent[0]
            assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Set-Cookie: session=s1" in head
            assert head.endswith(b"\r\n\r\n")
            # Every byte received is counted: the body, and the head with every header the browser got.
            assert s.meter.total("alice", "alpha", "page") >= len(body) + sum(
                len(k) + len(v) + 4 for k, v in reply.headers.items() if k not in ("Date", "Server", "Content-Length")
            )
            assert {c[:2] for c in s.meter.counted} == {("alice", "alpha")}

    run(scenario())


def test_a_declared_app_passes_whole_and_is_metered_as_app(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            for method in ("GET", "POST"):
                reply = await s.client.request(method, f"{s.url}{WS}/spark-ui/jobs/?id=1")
                assert reply.status == 200 and (await reply.json())["path"] == f"{WS}/spark-ui/jobs/?id=1"
            assert {c[:2] + c[3:] for c in s.meter.counted} == {("alice", "alpha", "app")}
            assert (await s.client.get(f"{s.url}{WS}/other-ui/")).status == 403  # not declared

    run(scenario())


def test_a_workspace_cannot_choose_whom_it_is_counted_against(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            reply = await s.client.get(f"{s.url}{WS}/api/me?as=carol")
            assert reply.status == 200 and await reply.text() == "mine"
            assert not [h for h in reply.headers if h.lower().startswith("x-enclave-")]  # all stripped
            assert {c[:2] for c in s.meter.counted} == {("alice", "alpha")}  # the path's owner, not carol

    run(scenario())


def test_a_browser_cannot_send_enclave_headers_upstream(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            await s.client.get(f"{s.url}/hub/home", headers={"X-Enclave-Recipient": "bob", "X-Enclave-Edge": "x"})
            assert not [h for h in s.seen[-1] if h.lower().startswith("x-enclave-")]

    run(scenario())


def test_hub_answers_are_counted_against_the_recipient_the_hub_names(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            reply = await s.client.get(f"{s.url}/hub/api/named?size=50000&to=carol")
            assert reply.status == 200 and len(await reply.read()) == 50000
            assert "X-Enclave-Recipient" not in reply.headers
            assert {c[:2] + c[3:] for c in s.meter.counted} == {("carol", "(hub)", "hub")}
            assert s.meter.total("carol", "(hub)", "hub") > 50000  # body and head
            # The hub's own project header is not honoured: its answers concern no project.
            await s.client.get(f"{s.url}/hub/api/named?to=carol&project=alpha")
            assert {c[1] for c in s.meter.counted} == {"(hub)"}

    run(scenario())


def test_airlock_answers_are_counted_against_the_recipient_and_project_it_names(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            reply = await s.client.get(f"{s.url}/services/egress-review/named?size=30000&to=rita&project=alpha")
            assert reply.status == 200 and "X-Enclave-Project" not in reply.headers
            assert {c[:2] + c[3:] for c in s.meter.counted} == {("rita", "alpha", "airlock")}
            await s.client.get(f"{s.url}/services/egress-review/named?size=30000&to=rita")
            assert s.meter.total("rita", "(airlock)", "airlock") > 30000

    run(scenario())


def test_a_released_file_from_the_airlock_is_not_counted_but_a_workspace_cannot_claim_one(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            released = await s.client.get(
                f"{s.url}/services/egress-review/named?size=300000&to=alice&project=alpha&released=ab12"
            )
            assert released.status == 200 and len(await released.read()) == 300000
            assert "X-Enclave-Released" not in released.headers and s.meter.counted == []
            # Only to a named person: an unnamed "release" is judged like any unnamed answer.
            unnamed = await s.client.get(f"{s.url}/services/egress-review/named?size=300000&released=ab12")
            assert unnamed.status == 502
            # The hub cannot release, and neither can a workspace (its X-Enclave-* headers are never believed).
            await s.client.get(f"{s.url}/hub/api/named?size=300000&to=alice&released=ab12")
            assert s.meter.total("alice", "(hub)", "hub") > 200000

    run(scenario())


@pytest.mark.parametrize("where", ["/hub/api/named", "/services/egress-review/named"])
def test_unnamed_hub_and_airlock_answers_pass_only_when_small(tmp_path, where):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            small = await s.client.get(f"{s.url}{where}?size=16384")
            assert small.status == 200 and len(await small.read()) == 16384
            for query in ("size=16385", "size=16385&chunked=1", "size=200000&chunked=1"):
                large = await s.client.get(f"{s.url}{where}?{query}")
                assert large.status == 502 and (await large.json())["reason"] == "no-recipient", query
                assert large.headers["X-Enclave-Edge"] == "refused"
            assert s.meter.counted == []
        with s.db.reading() as session:
            from enclave.state.models import AuditEvent

            events = session.query(AuditEvent).filter_by(action="edge.refused").all()
            assert {e.details["reason"] for e in events} == {"no-recipient"}

    run(scenario())


def test_a_recipient_whose_budget_is_spent_gets_429_from_the_hub(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter(blocked=True)) as s:
            reply = await s.client.get(f"{s.url}/hub/api/named?to=carol")
            assert reply.status == 429 and (await reply.json())["reason"] == "metering-budget"

    run(scenario())


def test_a_workspaces_static_addresses_are_answered_by_the_edge_from_the_image_never_relayed(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            served = await s.client.get(f"{s.url}{WS}/static/x.js?v=1")
            assert served.status == 200 and await served.read() == b"from the image"
            assert served.headers["X-Enclave-Edge"] == "static"
            logo = await s.client.get(f"{s.url}{WS}/kernelspecs/python3/logo-64x64.png")
            assert logo.status == 200 and await logo.read() == b"\x89PNG logo"
            for missing in ("static/lab/nothing.js", "kernelspecs/evil/data.csv", "custom/custom.css"):
                reply = await s.client.get(f"{s.url}{WS}/{missing}")
                assert reply.status == 404 and reply.headers["X-Enclave-Edge"] == "static", missing
            assert (await s.client.post(f"{s.url}{WS}/static/x.js", data=b"x")).status == 405
            assert s.seen == [] and s.meter.counted == []  # not relayed, nothing analyst-controlled to count
            # A token in the address is refused before anything is answered.
            assert (await s.client.get(f"{s.url}{WS}/static/x.js?token=t")).status == 403

    run(scenario())


def test_the_hubs_static_files_are_not_metered(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            assert (await s.client.get(f"{s.url}/hub/static/js/home.js")).status == 200
            assert s.meter.counted == []

    run(scenario())


def test_routes_not_allowed_under_a_workspace_are_refused_audited_and_never_relayed(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            for method, route in (("GET", "api/config/notebook"), ("POST", "lab"), ("GET", "my/route")):
                reply = await s.client.request(method, f"{s.url}{WS}/{route}")
                assert reply.status == 403 and (await reply.json())["reason"] == "route-not-allowed"
            assert s.seen == []
        with s.db.reading() as session:
            from enclave.state.models import AuditEvent

            events = session.query(AuditEvent).filter_by(action="edge.refused").all()
            assert [(e.details["reason"], e.details["method"]) for e in events] == [
                ("route-not-allowed", "GET"),
                ("route-not-allowed", "POST"),
                ("route-not-allowed", "GET"),
            ]

    run(scenario())


def test_the_exporter_list_is_answered_by_the_edge_empty_and_not_audited(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            reply = await s.client.get(f"{s.url}{WS}/api/nbconvert")
            assert reply.status == 200 and await reply.json() == {}
            assert s.seen == [] and s.meter.counted == []
        with s.db.reading() as session:
            from enclave.state.models import AuditEvent

            assert session.query(AuditEvent).filter_by(action="edge.refused").count() == 0

    run(scenario())


def test_a_response_is_cut_when_the_budget_is_spent(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter(budget=300_000)) as s:
            reply = await s.client.get(f"{s.url}{WS}/lab")
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
            ws = await s.client.ws_connect(
                f"wss://127.0.0.1:{s.port}{WS}/api/kernels/k/channels", protocols=["v1.kernel.websocket.jupyter.org"]
            )
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


def test_other_websockets_are_metered_on_the_websocket_channel(tmp_path):
    async def scenario():
        async with Stack(tmp_path, BudgetMeter()) as s:
            ws = await s.client.ws_connect(f"wss://127.0.0.1:{s.port}{WS}/api/events/subscribe")
            await ws.send_str("hello")
            assert (await ws.receive()).data == "echo:hello"
            await ws.close()
            assert s.meter.counted == [("alice", "alpha", len("echo:hello"), "websocket")]
            refused = await s.client.get(
                f"wss://127.0.0.1:{s.port}{WS}/api/kernels", headers={"Upgrade": "websocket", "Connection": "Upgrade"}
            )
            assert refused.status == 403 and (await refused.json())["reason"] == "route-not-allowed"

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
            assert (await s.client.get(f"{s.url}{WS}/api/status")).status == 200  # elsewhere, encodings pass as is

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
    code = (
        "import runpy, sys; sys.modules['enclave.metering'] = None; "
        "runpy.run_module('enclave.edge', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"ENCLAVE_STATE_DIR": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 3 and "cannot start without its metering" in result.stderr
