"""Metering against the real hub and a real workspace: exceeding the budget stops and suspends.

The meter here is driven by the test with the sizes of real kernel output (as
the edge does per frame), read from the hub's proxy behind the edge so that
only this meter counts it; tests/security/test_metering.py does the same
through the edge itself. Each test has its own person and project, so the
shared workspaces (alice_alpha, ...) are never suspended.
"""

from __future__ import annotations

import asyncio

import pytest

from enclave.metering import EgressMeter
from enclave.metering.budgets import MIB
from enclave.operations import people, projects
from enclave.state.audit_query import AuditFilter, as_record, find_events
from enclave.state.models import AccountStatus
from enclave.state.queries import get_user
from tests.support.hub import HubUser
from tests.support.kernel import KernelSession

pytestmark = pytest.mark.integration


def audited(enclave, action: str, target: str) -> list[dict]:
    with enclave.ctx.db.reading() as session:
        return [r for r in (as_record(e) for e in find_events(session, AuditFilter(action=action)))
                if r["action"] == action and r["target"] == target]


def account_status(enclave, name: str) -> AccountStatus:
    with enclave.ctx.db.reading() as session:
        return get_user(session, name).status


@pytest.fixture
def metered(enclave):
    """A person with a running workspace in a project of their own whose budget is 1 MiB."""
    person, project = "meg", "metered"
    ctx = enclave.ctx
    projects.create_project(ctx, project)
    projects.set_egress_budget(ctx, project, MIB)
    enclave.passwords[person] = people.add_user(ctx, person, ["analyst"]).initial_password
    people.add_member(ctx, project, person)
    user = enclave.login(person)
    reply = user.start(project)
    assert reply.status_code in (201, 202), reply.text
    yield user, project
    user.stop(project)


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

    # The workspace is stopped: gone from the hub and from the engine.
    assert user.server(project) is None
    assert [c for c in enclave.containers(kind="workspace", project=project, user=user.name)
            if c.status == "running"] == []
    # The person is suspended, and both steps are in the audit log.
    assert account_status(enclave, user.name) is AccountStatus.SUSPENDED
    (alert,) = audited(enclave, "metering.alert", f"{project}/{user.name}")
    (exceeded,) = audited(enclave, "metering.exceeded", f"{project}/{user.name}")
    assert exceeded["details"]["budget"] == MIB and exceeded["details"]["bytes"] >= MIB
    (suspended,) = audited(enclave, "person.suspended", user.name)
    assert suspended["details"]["reason"] == "metering budget exceeded"
    assert alert["seq"] < exceeded["seq"] < suspended["seq"]

    # Login is refused; the session already logged in cannot spawn (the hub refreshes auth first).
    again = HubUser(enclave.url, user.name, enclave.passwords[user.name])
    assert not again.logged_in
    assert audited(enclave, "login", user.name)[-1]["outcome"] == "refused"
    spawn = user.api("POST", f"/users/{user.name}/servers/{project}")
    assert spawn.status_code == 403, spawn.text
    assert enclave.containers(kind="workspace", project=project, user=user.name) == []

    # The operator decides: resuming restores login; today's usage stays counted.
    people.resume_user(enclave.ctx, user.name, "reviewed with the data owner")
    assert enclave.login(user.name).logged_in
    assert audited(enclave, "person.resumed", user.name)
    fresh = EgressMeter(enclave.settings)
    assert fresh.blocked(user.name, project)
