"""What happens when a budget is exceeded: the person is suspended and the workspace stopped."""

from __future__ import annotations

import logging

from ..operations.base import OperatorContext, WorkspaceControl
from ..operations.people import suspend_user
from ..settings import EnclaveSettings
from ..state.db import StateDB
from ..state.models import AccountStatus
from ..state.queries import find_user
from .thresholds import ACTOR

log = logging.getLogger(__name__)

REASON = "metering budget exceeded"


def enforce_exceeded(
    settings: EnclaveSettings, db: StateDB, workspaces: WorkspaceControl, user: str, project: str, details: dict
) -> list[str]:
    """Suspend `user` (audited person.suspended) and stop their workspace of `project`.

    Blocking (it waits for the hub); the meter runs it off the event loop.
    Suspending first means the workspace cannot be started again in between.
    """
    ctx = OperatorContext(settings=settings, db=db, actor=ACTOR, workspaces=workspaces)
    with db.reading() as session:
        account = find_user(session, user)
        active = account is not None and account.status is AccountStatus.ACTIVE
    stopped = suspend_user(ctx, user, REASON, {"project": project, **details}) if active else []
    stopped += workspaces.stop(project, user)
    log.warning("egress budget exceeded: %s suspended, stopped %s", user, ", ".join(stopped) or "nothing")
    return stopped
