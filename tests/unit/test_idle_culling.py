"""The idle culler's service, role and decisions (enclave/hub/culling.py), on a real state database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from enclave.cli.main import main
from enclave.errors import InvalidInput
from enclave.hub.culling import SCOPES, arbiter, culler_role, culler_service
from enclave.operations import projects
from enclave.settings import EnclaveSettings
from enclave.state.models import AuditEvent


def test_the_culler_is_a_hub_service_with_only_the_scopes_it_needs(settings):
    service = culler_service(settings)
    assert service["name"] == "idle-culler" and "api_token" not in service
    assert f"--timeout={settings.idle_timeout}" in service["command"]
    assert "--remove-named-servers=False" in service["command"] and "--cull-users=False" in service["command"]
    assert service["environment"]["ENCLAVE_STATE_DIR"] == settings.state_dir
    assert culler_role() == {
        "name": "idle-culler",
        "description": culler_role()["description"],
        "services": ["idle-culler"],
        "scopes": SCOPES,
    }
    assert set(SCOPES) == {"list:users", "read:users:activity", "read:servers", "delete:servers"}
    assert culler_service(EnclaveSettings(state_dir=settings.state_dir, idle_timeout=0)) is None


def _server(project: str) -> dict:
    return {"name": project, "url": f"/user/alice/{project}/"}


def test_a_project_timeout_wins_over_the_installation_default_and_a_cull_is_audited(ctx, monkeypatch):
    monkeypatch.setenv("ENCLAVE_IDLE_TIMEOUT", "3600")
    projects.create_project(ctx, "alpha")
    projects.create_project(ctx, "beta")
    projects.set_idle_timeout(ctx, "alpha", 600)
    assert arbiter(inactive=timedelta(seconds=700), inactive_limit=3600, server=_server("alpha")) is True
    assert arbiter(inactive=timedelta(seconds=700), inactive_limit=3600, server=_server("beta")) is False
    assert arbiter(inactive=timedelta(seconds=3700), inactive_limit=3600, server=_server("beta")) is True
    projects.set_idle_timeout(ctx, "beta", 0)  # never
    assert arbiter(inactive=timedelta(days=9), inactive_limit=3600, server=_server("beta")) is False
    with ctx.db.reading() as session:
        culls = [
            (e.actor, e.target, e.details["reason"])
            for e in session.execute(select(AuditEvent).where(AuditEvent.action == "workspace.cull")).scalars()
        ]
    assert culls == [
        ("idle-culler", "alpha:alice", "idle for 700 s, over the project's limit of 600 s"),
        ("idle-culler", "beta:alice", "idle for 3700 s, over the project's limit of 3600 s"),
    ]


def test_the_cli_sets_shows_and_resets_a_projects_idle_timeout(ctx, monkeypatch, capsys):
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    projects.create_project(ctx, "alpha")
    assert main(["project", "idle-timeout", "alpha"]) == 0
    assert "240 minutes are stopped (the installation's default)" in capsys.readouterr().out
    assert main(["project", "idle-timeout", "alpha", "--minutes", "30"]) == 0
    assert "30 minutes are stopped (set for the project)" in capsys.readouterr().out
    assert main(["project", "idle-timeout", "alpha", "--minutes", "0"]) == 0
    assert "never stopped" in capsys.readouterr().out
    assert main(["project", "idle-timeout", "alpha", "--default"]) == 0
    assert "(the installation's default)" in capsys.readouterr().out
    with pytest.raises(InvalidInput, match="between"):
        projects.set_idle_timeout(ctx, "alpha", 5)
