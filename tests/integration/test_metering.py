"""Metering against the real hub and a real workspace: exceeding the budget stops and suspends.

The meter here is driven by the test with the sizes of real kernel output (as
the edge does per frame), read from the hub's proxy behind the edge so that
only this meter counts it; tests/integration/security/test_metering.py does the same
through the edge itself. Each test has its own person and project, so the
shared workspaces (alice_alpha, ...) are never suspended.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import create_engine

from enclave.egress.budgets import MIB
from enclave.hub.secrets import operator_token
from enclave.metering import EgressMeter
from enclave.metering.ledger import totals
from enclave.operations import people, projects
from enclave.operations.base import OperatorContext
from enclave.settings import EnclaveSettings
from enclave.state.audit import verify_chain
from enclave.state.audit_query import AuditFilter, as_record, find_events
from enclave.state.db import StateDB
from enclave.state.models import AccountStatus
from enclave.state.queries import get_user
from tests.support.hub import HubUser
from tests.support.kernel import KernelSession
from tests.support.recording import RecordingWorkspaces


def audited(enclave, action: str, target: str) -> list[dict]:
    return audited_in(enclave.ctx.db, action, target)


def audited_in(db, action: str, target: str) -> list[dict]:
    with db.reading() as session:
        return [
            r
            for r in (as_record(e) for e in find_events(session, AuditFilter(action=action)))
            if r["action"] == action and r["target"] == target
        ]


def operator_view(enclave, name: str) -> dict:
    """A person's hub record as the operator reads it, on the hub's own loopback API."""
    reply = requests.get(
        f"{enclave.settings.hub_internal_url}/hub/api/users/{name}",
        timeout=30,
        headers={"Authorization": f"token {operator_token(enclave.settings.hub_dir)}"},
    )
    reply.raise_for_status()
    return reply.json()


def logs_in_again(enclave, name: str, attempts: int = 60) -> bool:
    """After a resume: the edge learns the person is active again at its next refresh (about a second)."""
    for _ in range(attempts):
        if HubUser(enclave.url, name, enclave.passwords[name]).logged_in:
            return True
        time.sleep(0.5)
    return False


def account_status(enclave, name: str) -> AccountStatus:
    with enclave.ctx.db.reading() as session:
        return get_user(session, name).status


@pytest.fixture
def metered(metered_person):
    """A person with a running workspace in a project of their own whose budget is 1 MiB."""
    return metered_person("meg", "metered"), "metered"


def test_exceeding_the_budget_stops_the_workspace_and_suspends_the_person(enclave, metered):
    user, project = metered
    token = user.token()
    behind_the_edge = f"{getattr(enclave, 'inner_url', enclave.url)}/user/{user.name}/{project}"
    kernel = KernelSession(behind_the_edge, {"Authorization": f"token {token}"})
    meter = EgressMeter(enclave.settings)

    async def relay_until_cut() -> int:
        sent = 0
        for _ in range(10):
            out = kernel.run("print('x' * 300_000)")  # real kernel output, as the edge would relay it
            assert len(out) >= 300_000
            sent += len(out)
            if not meter.count(user.name, project, len(out), "kernel"):
                break
        await meter.close()  # writes out, then waits for the suspension and the stop to finish
        return sent

    try:
        sent = asyncio.run(relay_until_cut())
    finally:
        kernel.close()
    assert MIB <= sent < MIB + 300_100  # cut by the first frame that reached the budget

    # The workspace is stopped: gone from the hub (as the operator sees it) and from the engine.
    assert project not in (operator_view(enclave, user.name).get("servers") or {})
    assert [
        c for c in enclave.containers(kind="workspace", project=project, user=user.name) if c.status == "running"
    ] == []
    # The person is suspended, and both steps are in the audit log.
    assert account_status(enclave, user.name) is AccountStatus.SUSPENDED
    (alert,) = audited(enclave, "metering.alert", f"{project}/{user.name}")
    (exceeded,) = audited(enclave, "metering.exceeded", f"{project}/{user.name}")
    assert exceeded["details"]["budget"] == MIB and exceeded["details"]["bytes"] >= MIB
    (suspended,) = audited(enclave, "person.suspended", user.name)
    assert suspended["details"]["reason"] == "metering budget exceeded"
    assert alert["seq"] < exceeded["seq"] < suspended["seq"]

    # Login is refused; the session already logged in gets nothing from the hub through the edge (a suspended
    # person's answers are not sent: 429), so it cannot spawn either.
    again = HubUser(enclave.url, user.name, enclave.passwords[user.name])
    assert not again.logged_in
    assert audited(enclave, "login", user.name)[-1]["outcome"] == "refused"
    spawn = user.api("POST", f"/users/{user.name}/servers/{project}")
    assert spawn.status_code == 429 and spawn.json()["reason"] == "metering-budget", spawn.text
    assert enclave.containers(kind="workspace", project=project, user=user.name) == []

    # The operator decides: resuming restores login; today's usage stays counted.
    people.resume_user(enclave.ctx, user.name, "reviewed with the data owner")
    assert logs_in_again(enclave, user.name)
    assert audited(enclave, "person.resumed", user.name)
    fresh = EgressMeter(enclave.settings)
    assert fresh.blocked(user.name, project)


# --- the ledger on a real PostgreSQL server ----------------------------------------------------------


@pytest.fixture
def pg_ctx(tmp_path, postgres_url, monkeypatch):  # postgres_url: tests/support/postgres.py
    reset = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with reset.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    reset.dispose()
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    settings = EnclaveSettings(
        state_dir=str(tmp_path / "state"),
        instance="pgmeter",
        database_url=postgres_url,
        metering_budget_floor=10_000,
        metering_budget_ceiling=10_000,
    )
    db = StateDB(postgres_url)
    ctx = OperatorContext(settings=settings, db=db, actor="op", workspaces=RecordingWorkspaces())
    projects.create_project(ctx, "alpha")
    people.add_user(ctx, "alice", ["analyst"])
    people.add_member(ctx, "alpha", "alice")
    yield ctx
    db.engine.dispose()


def test_on_postgresql_two_meters_count_exactly_and_raise_each_threshold_once(pg_ctx):
    frame, rounds = 13, 60
    today = datetime.now(UTC).date()

    def meters():
        return [EgressMeter(pg_ctx.settings, db=pg_ctx.db, workspaces=pg_ctx.workspaces) for _ in range(2)]

    async def feed(meter):
        for _ in range(rounds):
            meter.count("alice", "alpha", frame, "kernel")
            await meter.flush()

    async def concurrent_flushes():
        one, two = meters()
        await asyncio.gather(feed(one), feed(two))
        await asyncio.gather(one.close(), two.close())

    async def both_cross_at_once():
        one, two = meters()
        one.count("alice", "alpha", 5_000, "kernel")
        two.count("alice", "alpha", 5_000, "terminal")
        await asyncio.gather(one.close(), two.close())

    asyncio.run(concurrent_flushes())
    with pg_ctx.db.reading() as session:
        assert totals(session, today, {("alice", "alpha")})[("alice", "alpha")] == 2 * rounds * frame
    assert audited_in(pg_ctx.db, "metering.alert", "alpha/alice") == []  # 1,560 of 10,000

    asyncio.run(both_cross_at_once())
    assert len(audited_in(pg_ctx.db, "metering.alert", "alpha/alice")) == 1
    assert len(audited_in(pg_ctx.db, "metering.exceeded", "alpha/alice")) == 1
    assert len(audited_in(pg_ctx.db, "person.suspended", "alice")) == 1
    assert set(pg_ctx.workspaces.stopped) == {("alpha", "alice")}
    with pg_ctx.db.reading() as session:
        assert verify_chain(session) == []
