"""jupyterhub-idle-culler, run by the real hub: a workspace idle for longer than its project allows is stopped,
and the audit log says why; another project's workspace stays."""

from __future__ import annotations

import time

from sqlalchemy import select

from enclave.operations import people, projects
from enclave.state.models import AuditEvent
from tests.support.hub import HubUser

PROJECT, PERSON = "idlers", "ida"


def test_a_workspace_idle_past_its_projects_timeout_is_stopped_and_audited(enclave, alice_alpha):
    projects.create_project(enclave.ctx, PROJECT)
    projects.set_idle_timeout(enclave.ctx, PROJECT, 15)
    account = people.add_user(enclave.ctx, PERSON, ["analyst"])
    people.add_member(enclave.ctx, PROJECT, PERSON)
    ida = HubUser(enclave.url, PERSON, account.initial_password)
    assert ida.start(PROJECT).status_code in (201, 202)
    deadline = time.monotonic() + 120
    while not (ida.server(PROJECT) or {}).get("ready") and time.monotonic() < deadline:
        time.sleep(1)
    assert (ida.server(PROJECT) or {}).get("ready"), "the workspace did not start"

    while ida.server(PROJECT) is not None and time.monotonic() < deadline + 60:
        time.sleep(2)  # nobody uses it: the culler (every 10 s here) stops it after 15 s idle
    assert ida.server(PROJECT) is None, "the idle workspace was not stopped"
    assert enclave.containers(kind="workspace", project=PROJECT, user=PERSON) == [] or all(
        c.status != "running" for c in enclave.containers(kind="workspace", project=PROJECT, user=PERSON)
    )

    with enclave.ctx.db.reading() as session:
        culls = [
            (e.actor, e.details["limit_seconds"])
            for e in session.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "workspace.cull", AuditEvent.target == f"{PROJECT}:{PERSON}"
                )
            ).scalars()
        ]
    assert culls and culls[0] == ("idle-culler", 15)
    assert enclave.login("alice").server("alpha")["ready"]  # alpha's default is hours: untouched
