"""What every service needs, and the helpers they share."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from ..checks.types import CheckContext, CheckResult, ChecksConfig, Finding, Verdict
from ..directory import ProjectDirectory
from ..domain.events import AuditEvent, Outcome
from ..domain.exceptions import EgressError, RequestNotFound
from ..domain.limits import InputLimits
from ..domain.permissions import Principal
from ..domain.states import RequestState
from ..domain.transitions import Action, Transition, check_transition
from ..staging import StagingLimits, StagingStore
from ..storage import audit
from ..storage.db import Database
from ..storage.models import Request, utcnow

log = logging.getLogger("egress_review")

ChecksRunner = Callable[[Path, CheckContext], list[CheckResult]]


def default_checks_runner(path: Path, context: CheckContext) -> list[CheckResult]:
    """The real automatic checks (``egress_review.checks.run_checks``)."""
    from ..checks import run_checks  # imported late: the checks package is developed separately

    return list(run_checks(path, context))


def checks_unavailable(exc: BaseException) -> CheckResult:
    return CheckResult(
        rule="checks_runner",
        version="1",
        parameters={},
        verdict=Verdict.ERROR,
        summary="The automatic checks could not run on this file, so it is blocked (fail closed).",
        findings=(Finding(message=f"{type(exc).__name__}: {exc}"[:500]),),
    )


@dataclass
class AirlockContext:
    db: Database
    staging: StagingStore
    directory: ProjectDirectory
    limits: StagingLimits = field(default_factory=StagingLimits)
    inputs: InputLimits = field(default_factory=InputLimits)
    checks_config: ChecksConfig = field(default_factory=ChecksConfig)
    run_checks: ChecksRunner = default_checks_runner

    def audit_refusal(self, principal: Principal | str, what: str, request_id: str | None, exc: EgressError) -> None:
        """Record a refused action in its own transaction (the refused one was rolled back)."""
        actor = principal.name if isinstance(principal, Principal) else principal
        try:
            with self.db.write() as session:
                audit.append(
                    session,
                    actor=actor,
                    event=AuditEvent.ACTION_REFUSED,
                    request_id=_known_request_id(session, request_id),
                    outcome=Outcome.REFUSED,
                    details={"action": what, "error": exc.code, "message": exc.message},
                )
        except Exception:  # the refusal stands even if it cannot be recorded
            log.exception("could not record refused action %s", what)

    @contextlib.contextmanager
    def refusals_audited(self, principal: Principal | str, what: str, request_id: str | None = None) -> Iterator[None]:
        try:
            yield
        except EgressError as exc:
            self.audit_refusal(principal, what, request_id, exc)
            raise


def _known_request_id(session: Session, request_id: str | None) -> str | None:
    # A refusal naming a request that does not exist is logged without the id
    # as a request reference (it may be garbage from a fuzzer or a probe).
    if request_id is None or not isinstance(request_id, str) or len(request_id) > 32:
        return None
    return request_id if session.get(Request, request_id) is not None else None


def load_request(session: Session, request_id: str) -> Request:
    if not isinstance(request_id, str) or len(request_id) > 32:
        raise RequestNotFound("There is no such request you can see. Check the link or the request id.")
    req = session.get(Request, request_id)
    if req is None:
        raise RequestNotFound("There is no such request you can see. Check the link or the request id.")
    return req


def perform_transition(
    session: Session, req: Request, action: Action, actor: str, details: dict | None = None
) -> Transition:
    """Check and apply one transition, writing its audit event in the same transaction."""
    transition = check_transition(RequestState(req.state), action)
    now = utcnow()
    req.state = transition.target.value
    req.updated_at = now
    if transition.target is RequestState.SUBMITTED:
        req.submitted_at = now
    if transition.action in (Action.APPROVE, Action.REQUEST_CHANGES, Action.REJECT):
        req.decided_at = now
    audit.append(
        session,
        actor=actor,
        event=transition.event,
        request_id=req.id,
        details={"from": transition.source.value, "to": transition.target.value, "round": req.round, **(details or {})},
    )
    session.flush()
    return transition
