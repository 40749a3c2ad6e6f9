"""Running an operator action as one audited unit of work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from ..errors import EnclaveError
from ..settings import EnclaveSettings
from ..state import audit
from ..state.db import StateDB

T = TypeVar("T")


class WorkspaceControl(Protocol):
    """Stops running workspaces; the hub and Docker implement it (enclave.hub.workspaces)."""

    def stop(self, project: str, user: str | None = None) -> list[str]: ...


class OperatorContext:
    """Who is acting, on which installation, with which side-effect tools."""

    def __init__(self, settings: EnclaveSettings, db: StateDB, actor: str, workspaces: WorkspaceControl):
        self.settings = settings
        self.db = db
        self.actor = actor
        self.workspaces = workspaces

    def audited(
        self, action: str, target: str, change: Callable[[Session], T], details: dict[str, Any] | None = None
    ) -> T:
        """Apply `change` and its audit event in one transaction.

        A refusal rolls the change back completely, then records the refusal
        (with its reason) in a transaction of its own and re-raises it.
        """
        try:
            with self.db.transaction() as session:
                result = change(session)
                audit.record(session, actor=self.actor, action=action, target=target, outcome="ok", details=details)
            return result
        except EnclaveError as refusal:
            with self.db.transaction() as session:
                audit.record(
                    session,
                    actor=self.actor,
                    action=action,
                    target=target,
                    outcome="refused",
                    details={**(details or {}), "reason": str(refusal)},
                )
            raise
