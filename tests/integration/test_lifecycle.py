"""Operators' decisions take effect on running workspaces at once."""

import pytest

from enclave.errors import InvalidState
from enclave.operations import people, projects


def test_suspending_a_project_stops_its_workspace_and_refuses_new_ones(enclave):
    dave = enclave.login("dave")
    assert dave.start("gamma").status_code in (201, 202)
    assert len(enclave.containers(kind="workspace", project="gamma")) == 1

    projects.suspend_project(enclave.ctx, "gamma")

    assert enclave.containers(kind="workspace", project="gamma") == []
    assert dave.server("gamma") is None
    reply = dave.api("POST", "/users/dave/servers/gamma")
    assert reply.status_code == 403
    assert "suspended" in reply.json()["message"]

    projects.resume_project(enclave.ctx, "gamma")
    assert dave.start("gamma").status_code in (201, 202)
    dave.stop("gamma")


def test_removing_a_member_stops_their_workspace_and_refuses_new_ones(enclave):
    erin = enclave.login("erin")
    assert erin.start("delta").status_code in (201, 202)

    people.remove_member(enclave.ctx, "delta", "erin")

    assert enclave.containers(kind="workspace", project="delta", user="erin") == []
    assert erin.server("delta") is None
    assert erin.api("POST", "/users/erin/servers/delta").status_code == 403


def test_archived_project_cannot_be_resumed(enclave):
    projects.create_project(enclave.ctx, "old-study")
    projects.archive_project(enclave.ctx, "old-study")
    with pytest.raises(InvalidState):
        projects.resume_project(enclave.ctx, "old-study")


def test_spawns_and_stops_are_audited(enclave, alice_alpha):
    from sqlalchemy import select

    from enclave.state.models import AuditEvent

    dave = enclave.login("dave")
    assert dave.start("gamma").status_code in (201, 202)
    dave.stop("gamma")
    with enclave.ctx.db.transaction() as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.action.like("workspace.%"))).scalars().all()
        starts = [
            (e.actor, e.target, e.outcome, e.details.get("datasets")) for e in events if e.action == "workspace.start"
        ]
        stops = [(e.actor, e.target, e.outcome) for e in events if e.action == "workspace.stop"]
    assert ("alice", "alpha/alice", "ok", ["cohort@v1"]) in starts
    assert any(outcome == "refused" for _, _, outcome, _ in starts)
    assert ("dave", "gamma/dave", "ok") in stops
