"""Finding audit events: by person, project, action, outcome and time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from .models import AuditEvent

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
OUTCOMES = ("ok", "refused", "error")


def parse_time(value: str, now: datetime | None = None) -> str:
    """An ISO date or time (UTC unless it says otherwise), or a span back from now ('30m', '24h', '7d', '2w'),
    as the log's own text form, which sorts in time order."""
    text = value.strip()
    relative = _RELATIVE.match(text.lower())
    if relative:
        moment = (now or datetime.now(UTC)) - timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"{value!r} is not a date or time: use e.g. 2026-11-21, 2026-11-21T09:30:00, "
                "or a span back from now such as 24h or 7d."
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditFilter:
    user: str | None = None  # as actor, or as the person acted on
    project: str | None = None
    action: str | None = None  # an action or a prefix such as "project." or "egress."
    since: str | None = None  # ISO-8601 date or time (UTC unless given), or a span such as 24h
    until: str | None = None
    outcome: str | None = None  # ok, refused or error

    def __post_init__(self):
        for name in ("since", "until"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, parse_time(getattr(self, name)))
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise InvalidInput(f"outcome {self.outcome!r} is not known: use one of {', '.join(OUTCOMES)}.")


def _targets_project(project: str):
    # Targets name projects as 'project', 'project/user', 'project:dataset@version' or 'project:request/<id>'.
    return or_(
        AuditEvent.target == project,
        AuditEvent.target.startswith(f"{project}/", autoescape=True),
        AuditEvent.target.startswith(f"{project}:", autoescape=True),
    )


def find_events(session: Session, query: AuditFilter) -> Iterator[AuditEvent]:
    statement = select(AuditEvent).order_by(AuditEvent.seq)
    if query.user:
        statement = statement.where(
            or_(
                AuditEvent.actor == query.user,
                AuditEvent.target == query.user,
                AuditEvent.target.endswith(f"/{query.user}", autoescape=True),
            )
        )
    if query.project:
        statement = statement.where(_targets_project(query.project))
    if query.action:
        statement = statement.where(AuditEvent.action.startswith(query.action, autoescape=True))
    if query.outcome:
        statement = statement.where(AuditEvent.outcome == query.outcome)
    # Both sides are UTC ISO-8601 text of one form, so text order is time order.
    if query.since:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until:
        statement = statement.where(AuditEvent.at < query.until)
    yield from session.execute(statement).scalars()


def as_record(event: AuditEvent) -> dict:
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "outcome": event.outcome,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "entry_hash": event.entry_hash,
    }


def dataset_access(
    session: Session,
    dataset: str | None = None,
    *,
    user: str | None = None,
    project: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[dict]:
    """Who had which dataset mounted, when: every workspace start that mounted data."""
    rows = []
    query = AuditFilter(action="workspace.start", outcome="ok", user=user, project=project, since=since, until=until)
    for event in find_events(session, query):
        if event.action != "workspace.start":
            continue
        for label in event.details.get("datasets", []):
            if dataset is None or label == dataset or label.split("@")[0] == dataset:
                target_project, _, target_user = event.target.partition("/")
                rows.append(
                    {
                        "at": event.at,
                        "user": target_user,
                        "project": target_project,
                        "dataset": label,
                        "container": event.details.get("container", ""),
                    }
                )
    return rows
