"""Finding audit events: by person, project, action and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from .models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    user: str | None = None  # as actor, or as the person acted on
    project: str | None = None
    action: str | None = None  # an action or a prefix such as "project."
    since: str | None = None  # ISO-8601 date or time, UTC
    until: str | None = None

    def __post_init__(self):
        for bound in (self.since, self.until):
            if bound is not None:
                try:
                    datetime.fromisoformat(bound)
                except ValueError:
                    raise InvalidInput(f"{bound!r} is not a date or time: use e.g. 2026-11-21 or "
                                       "2026-11-21T09:30:00.") from None


def _targets_project(project: str):
    # Targets name projects as 'project', 'project/user' or 'project:dataset@version'.
    return or_(AuditEvent.target == project, AuditEvent.target.startswith(f"{project}/", autoescape=True),
               AuditEvent.target.startswith(f"{project}:", autoescape=True))


def find_events(session: Session, query: AuditFilter) -> Iterator[AuditEvent]:
    statement = select(AuditEvent).order_by(AuditEvent.seq)
    if query.user:
        statement = statement.where(or_(
            AuditEvent.actor == query.user, AuditEvent.target == query.user,
            AuditEvent.target.endswith(f"/{query.user}", autoescape=True)))
    if query.project:
        statement = statement.where(_targets_project(query.project))
    if query.action:
        statement = statement.where(AuditEvent.action.startswith(query.action, autoescape=True))
    # ISO-8601 UTC text sorts in time order.
    if query.since:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until:
        statement = statement.where(AuditEvent.at < query.until)
    yield from session.execute(statement).scalars()


def as_record(event: AuditEvent) -> dict:
    return {"seq": event.seq, "at": event.at, "actor": event.actor, "action": event.action,
            "target": event.target, "outcome": event.outcome, "details": event.details,
            "prev_hash": event.prev_hash, "entry_hash": event.entry_hash}


def dataset_access(session: Session, dataset: str | None = None) -> list[dict]:
    """Who had which dataset mounted, when: every workspace start that mounted data."""
    rows = []
    for event in find_events(session, AuditFilter(action="workspace.start")):
        if event.outcome != "ok":
            continue
        for label in event.details.get("datasets", []):
            if dataset is None or label == dataset or label.split("@")[0] == dataset:
                project, _, user = event.target.partition("/")
                rows.append({"at": event.at, "user": user, "project": project, "dataset": label,
                             "container": event.details.get("container", "")})
    return rows
