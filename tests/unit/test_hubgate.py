"""The hub gate's mechanics against a small upstream standing in for the hub, on 127.0.0.1.

The real hub behind the real gate, called from a real kernel, is tested in
tests/integration/security/test_hub_gate.py; here the upstream records what reaches it, so
that forwarded headers, body caps and the audit record can be checked exactly.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from aiohttp import web
from sqlalchemy import select

from enclave.hubgate.gate import ACTION, ANY_ROUTE, ROUTES_PER_SOURCE, GateAudit, HubGate
from enclave.hubgate.policy import BODY_LIMIT
from enclave.hubgate.sources import Workspace, WorkspaceSources
from enclave.state.db import StateDB
from enclave.state.models import AuditEvent
from tests.support.ports import free_port


class KnownSources:
    """Every address is the workspace given (or none)."""

    def __init__(self, workspace: Workspace | None):
        self.workspace = workspace

    def workspace_at(self, address):
        return self.workspace


def upstream_app(seen: list) -> web.Application:
    async def record(request):
        seen.append((request.method, request.raw_path, dict(request.headers), await request.read()))
        reply = web.json_response({"name": "alice"}, headers={"X-JupyterHub-Version": "6.1.1"})
        reply.set_cookie("jupyterhub-session-id", "s")
        return reply

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    return app


class Stack:
    def __init__(self, tmp_path, workspace: Workspace | None = Workspace("alice", "alpha"), upstream: bool = True):
        self.tmp_path, self.workspace, self.with_upstream, self.seen = tmp_path, workspace, upstream, []

    async def __aenter__(self):
        up_port = free_port()
        self.upstream = web.AppRunner(upstream_app(self.seen))
        await self.upstream.setup()
        if self.with_upstream:
            await web.TCPSite(self.upstream, "127.0.0.1", up_port).start()
        self.db = StateDB(f"sqlite:///{self.tmp_path / 'state.sqlite'}")
        self.gate = web.AppRunner(
            HubGate(f"http://127.0.0.1:{up_port}", GateAudit(self.db), KnownSources(self.workspace)).application()
        )
        await self.gate.setup()
        port = free_port()
        await web.TCPSite(self.gate, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        self.client = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc):
        await self.client.close()
        await self.gate.cleanup()
        await self.upstream.cleanup()

    def refusals(self) -> list[tuple]:
        with self.db.reading() as session:
            events = session.execute(select(AuditEvent).where(AuditEvent.action == ACTION)).scalars().all()
            return [(e.actor, e.outcome, e.details) for e in events]


def run(coro):
    return asyncio.run(coro)


def test_an_allowed_call_reaches_the_hub_with_only_the_headers_it_needs(tmp_path):
    async def scenario():
        async with Stack(tmp_path) as s:
            reply = await s.client.get(
                f"{s.url}/hub/api/user",
                headers={
                    "Authorization": "token t",
                    "Cookie": "jupyterhub-hub-login=stolen",
                    "X-Forwarded-For": "1.2.3.4",
                },
            )
            assert reply.status == 200
            assert await reply.json() == {"name": "alice"}
            assert reply.headers["X-JupyterHub-Version"] == "6.1.1"
            assert "Set-Cookie" not in reply.headers
            ((method, path, headers, _),) = s.seen
            assert (method, path) == ("GET", "/hub/api/user")
            assert headers["Authorization"] == "token t"
            assert "Cookie" not in headers and "X-Forwarded-For" not in headers
            assert s.refusals() == []

    run(scenario())


def test_the_workspaces_own_activity_passes_with_its_body(tmp_path):
    async def scenario():
        async with Stack(tmp_path) as s:
            body = json.dumps({"last_activity": "2026-12-05T17:00:00Z"}).encode()
            reply = await s.client.post(
                f"{s.url}/hub/api/users/alice/activity", data=body, headers={"Content-Type": "application/json"}
            )
            assert reply.status == 200
            assert s.seen[0][1] == "/hub/api/users/alice/activity" and s.seen[0][3] == body

    run(scenario())


def test_a_refused_call_is_403_with_a_message_never_reaches_the_hub_and_is_audited_once(tmp_path):
    async def scenario():
        async with Stack(tmp_path) as s:
            for _ in range(3):
                reply = await s.client.post(
                    f"{s.url}/hub/api/users/alice/tokens",
                    json={"note": "x" * 1000},
                    headers={"Authorization": "token full"},
                )
                assert reply.status == 403
                assert reply.headers["X-Enclave-Hubgate"] == "refused"
                answer = await reply.json()
                assert answer["reason"] == "route-not-allowed"
                assert answer["message"].startswith("Refused by the enclave's hub gate: ")
            assert s.seen == []
            events = s.refusals()
            assert len(events) == 1  # repeats folded, as the edge folds its own
            actor, outcome, details = events[0]
            assert (actor, outcome) == ("hubgate", "refused")
            assert details["route"] == "/hub/api/users/alice/tokens"
            assert details["method"] == "POST" and details["client"] == "127.0.0.1"
            assert (details["user"], details["project"]) == ("alice", "alpha")

    run(scenario())


def test_activity_for_another_user_or_from_an_unknown_source_is_refused(tmp_path):
    async def scenario():
        async with Stack(tmp_path) as s:
            reply = await s.client.post(f"{s.url}/hub/api/users/bob/activity", json={})
            assert reply.status == 403 and (await reply.json())["reason"] == "activity-not-own"
        async with Stack(tmp_path, workspace=None) as s:
            reply = await s.client.post(f"{s.url}/hub/api/users/alice/activity", json={})
            assert reply.status == 403 and (await reply.json())["reason"] == "activity-not-own"
            assert s.seen == []

    run(scenario())


def test_a_body_over_the_limit_is_refused_declared_or_chunked(tmp_path):
    async def chunks():
        for _ in range(BODY_LIMIT // 1000 + 2):
            yield b"x" * 1000

    async def scenario():
        async with Stack(tmp_path) as s:
            reply = await s.client.post(f"{s.url}/hub/api/oauth2/token", data=b"x" * (BODY_LIMIT + 1))
            assert reply.status == 403 and (await reply.json())["reason"] == "body-too-large"
            reply = await s.client.post(f"{s.url}/hub/api/oauth2/token", data=chunks())
            assert reply.status == 403 and (await reply.json())["reason"] == "body-too-large"
            assert s.seen == []
            reply = await s.client.post(f"{s.url}/hub/api/oauth2/token", data=b"code=c&grant_type=authorization_code")
            assert reply.status == 200 and len(s.seen) == 1

    run(scenario())


def test_a_hub_that_does_not_answer_is_a_502_not_a_pass(tmp_path):
    async def scenario():
        async with Stack(tmp_path, upstream=False) as s:
            reply = await s.client.get(f"{s.url}/hub/api")
            assert reply.status == 502
            assert (await reply.json())["reason"] == "upstream-unreachable"

    run(scenario())


class FakeContainer:
    def __init__(self, labels, address):
        self.labels = labels
        self.attrs = {"NetworkSettings": {"Networks": {"enc-net": {"IPAddress": address}}}}


class FakeEngine:
    def __init__(self, containers):
        self.reads = 0
        self.listed = containers
        self.containers = self

    def list(self, filters):
        assert "enclave.kind=workspace" in filters["label"]
        self.reads += 1
        return self.listed


def test_sources_name_the_workspace_by_its_address_and_ask_the_engine_sparingly():
    now = [0.0]
    engine = FakeEngine([FakeContainer({"enclave.user": "alice", "enclave.project": "alpha"}, "172.19.0.2")])
    sources = WorkspaceSources("enctest-x", client=engine, clock=lambda: now[0])
    assert sources.workspace_at("172.19.0.2") == Workspace("alice", "alpha")
    assert sources.workspace_at("172.19.0.2") == Workspace("alice", "alpha")
    assert sources.workspace_at("172.19.0.9") is None  # unknown, but just read: not asked again at once
    assert engine.reads == 1
    now[0] = 1.0
    assert sources.workspace_at("172.19.0.9") is None  # a workspace that just started is looked for again
    assert engine.reads == 2
    engine.listed = []  # the container is gone; its address may pass to another
    now[0] = 10.0
    assert sources.workspace_at("172.19.0.2") is None


class FakeService:
    def __init__(self, labels, addresses):
        self.attrs = {"Spec": {"TaskTemplate": {"ContainerSpec": {"Labels": labels}}}}
        self.addresses = addresses

    def tasks(self, filters):
        assert filters == {"desired-state": "running"}
        return [{"NetworksAttachments": [{"Addresses": [f"{a}/24" for a in self.addresses]}]}]


class FakeSwarmEngine(FakeEngine):
    def __init__(self, containers, services):
        super().__init__(containers)
        self.services = type("Services", (), {"list": lambda _, filters: services})()


def test_in_swarm_mode_workspaces_on_other_nodes_are_named_by_their_tasks_addresses():
    engine = FakeSwarmEngine([], [FakeService({"enclave.user": "bob", "enclave.project": "beta"}, ["10.0.5.3"])])
    assert WorkspaceSources("enctest-x", swarm=True, client=engine).workspace_at("10.0.5.3") == Workspace("bob", "beta")
    assert WorkspaceSources("enctest-x", swarm=False, client=engine).workspace_at("10.0.5.3") is None


def test_the_swarm_hub_container_runs_the_gate_before_the_hub_with_the_hubs_loopback_port(tmp_path):
    from enclave.settings import EnclaveSettings
    from enclave.swarm import deploy, hub_main
    from enclave.swarm.settings import SwarmSettings

    gate, hub, edge = hub_main.commands([])
    assert gate[1:] == ["-m", "enclave.hubgate"] and hub[0] == "jupyterhub" and edge[1:] == ["-m", "enclave.edge"]
    settings = EnclaveSettings(state_dir=str(tmp_path), instance="inst", hub_internal_port=9183)
    env = deploy.hub_environment(settings, SwarmSettings(placement=["node.role==worker"]), "inst-hub")
    assert env["ENCLAVE_HUB_INTERNAL_PORT"] == "9183"


def test_a_flood_of_refusals_to_ever_new_paths_folds_instead_of_filling_the_audit_log(tmp_path):
    async def scenario():
        async with Stack(tmp_path) as s:
            for n in range(ROUTES_PER_SOURCE + 20):
                reply = await s.client.get(f"{s.url}/hub/api/users/alice/tokens/{n}")
                assert reply.status == 403
            events = s.refusals()
            assert len(events) == ROUTES_PER_SOURCE + 1
            assert events[-1][2]["route"] == ANY_ROUTE
            reply = await s.client.get(f"{s.url}/hub/api/users")  # still refused; folded into ANY_ROUTE
            assert reply.status == 403 and len(s.refusals()) == ROUTES_PER_SOURCE + 1

    run(scenario())
