"""Idle workspaces are stopped by jupyterhub-idle-culler, a hub-managed service with a least-privilege role.

The culler asks the hub for every server's last activity every `idle_cull_every` seconds. Whether a server
has been idle too long is decided here (its `cull_arbiter_hook`): against its project's timeout
(`enclave project idle-timeout`), else the installation's (`idle_timeout`; 0 culls none). Each decision to
stop is written to the audit log with the reason before the culler stops the server; the stop itself is
audited by the spawner like any other. A server's name is its project (one named server per project).

The service runs `python -m jupyterhub_idle_culler --config=<this package's idle_culler_config.py>`,
which installs `arbiter` below; the culler's own --timeout is only its fallback and is set to the
installation's.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from ..settings import EnclaveSettings
from ..state import audit
from ..state.db import open_state_db
from ..state.queries import find_project

SERVICE = "idle-culler"
CONFIG_FILE = Path(__file__).with_name("idle_culler_config.py")
# What the culler needs and no more (its README): see users and servers and their activity, stop servers.
SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]


def culler_role() -> dict:
    return {
        "name": SERVICE,
        "description": "Stops workspaces idle for longer than their project allows.",
        "services": [SERVICE],
        "scopes": SCOPES,
    }


def culler_service(settings: EnclaveSettings) -> dict | None:
    """The hub-managed service, or None when the installation culls nothing (idle_timeout 0)."""
    if settings.idle_timeout <= 0:
        return None
    return {
        "name": SERVICE,
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--config={CONFIG_FILE}",
            f"--timeout={settings.idle_timeout}",
            f"--cull-every={settings.idle_cull_every}",
            "--remove-named-servers=False",
            "--cull-users=False",
        ],
        # JupyterHub passes services no other environment: name the installation, for the arbiter.
        "environment": {
            "ENCLAVE_STATE_DIR": settings.state_dir,
            "ENCLAVE_DB_URL": settings.database_url,
            "ENCLAVE_INSTANCE": settings.instance,
            "ENCLAVE_IDLE_TIMEOUT": str(settings.idle_timeout),
        },
    }


def timeout_for(settings: EnclaveSettings, project: str) -> int:
    """Seconds of inactivity the project's workspaces are allowed (0: never stopped)."""
    with open_state_db(settings.database_url).reading() as session:
        found = find_project(session, project)
        own = found.idle_timeout if found is not None else None
    return settings.idle_timeout if own is None else own


def arbiter(*, inactive: timedelta, inactive_limit: int, server: dict, **_) -> bool:
    """The culler's question for one server: stop it? Audited when the answer is yes."""
    settings = EnclaveSettings()
    project = server.get("name", "")
    limit = timeout_for(settings, project)
    if limit <= 0 or inactive.total_seconds() < limit:
        return False
    user = (server.get("url", "").split("/user/", 1)[-1].split("/", 1)[0]) or "-"
    with open_state_db(settings.database_url).transaction() as session:
        audit.record(
            session,
            actor=SERVICE,
            action="workspace.cull",
            target=f"{project}:{user}",
            details={
                "reason": f"idle for {int(inactive.total_seconds())} s, over the project's limit of {limit} s",
                "idle_seconds": int(inactive.total_seconds()),
                "limit_seconds": limit,
            },
        )
    return True
