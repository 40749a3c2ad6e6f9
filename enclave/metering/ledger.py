"""The egress ledger: bytes per (UTC day, user, project, channel) in the state database.

Two counters per row: `bytes`, the information counted against budgets (see information.py),
and `raw_bytes`, what went over the wire.

Counters are raised with `bytes = bytes + n` inside the database (an upsert),
never read, added to and written back, so several edge processes flushing at
once, or an edge restarting, neither lose nor double-count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..state.models import EgressUsage

UsageKey = tuple[str, str, str]  # (user, project, channel)

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def add_bytes(session: Session, day: date, deltas: dict[UsageKey, tuple[int, int]]) -> None:
    """Add each (counted, raw) delta to its counters in the caller's (writer) transaction."""
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERTS:
        raise RuntimeError(f"egress metering supports SQLite and PostgreSQL, not {dialect}")
    insert = _INSERTS[dialect]
    for (user, project, channel), (counted, raw) in sorted(deltas.items()):
        if counted <= 0 and raw <= 0:
            continue
        stmt = insert(EgressUsage).values(
            day=day.isoformat(), user=user, project=project, channel=channel, bytes=counted, raw_bytes=raw
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["day", "user", "project", "channel"],
            set_={
                "bytes": EgressUsage.bytes + stmt.excluded.bytes,
                "raw_bytes": EgressUsage.raw_bytes + stmt.excluded.raw_bytes,
            },
        )
        session.execute(stmt)


def totals(session: Session, day: date, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Today's total per (user, project) for the pairs asked about (0 where nothing was sent)."""
    found = {pair: 0 for pair in pairs}
    if not pairs:
        return found
    users = {user for user, _ in pairs}
    rows = session.execute(
        select(EgressUsage.user, EgressUsage.project, func.sum(EgressUsage.bytes))
        .where(EgressUsage.day == day.isoformat(), EgressUsage.user.in_(users))
        .group_by(EgressUsage.user, EgressUsage.project)
    )
    for user, project, total in rows:
        if (user, project) in found:
            found[(user, project)] = int(total)
    return found


def project_totals(session: Session, day: date, projects: set[str]) -> dict[str, int]:
    """Today's total per project, all members together, for the projects asked about."""
    found = {project: 0 for project in projects}
    if not projects:
        return found
    rows = session.execute(
        select(EgressUsage.project, func.sum(EgressUsage.bytes))
        .where(EgressUsage.day == day.isoformat(), EgressUsage.project.in_(projects))
        .group_by(EgressUsage.project)
    )
    for project, total in rows:
        found[project] = int(total)
    return found


@dataclass
class UsageRow:
    """One person's traffic from one project on one day, for reports."""

    day: str
    user: str
    project: str
    channels: dict[str, int] = field(default_factory=dict)  # counted bytes per channel
    raw: int = 0  # bytes on the wire, all channels

    @property
    def total(self) -> int:
        return sum(self.channels.values())


def usage(session: Session, day: date, user: str | None = None, project: str | None = None) -> list[UsageRow]:
    """The day's usage per (user, project), largest first."""
    query = select(EgressUsage).where(EgressUsage.day == day.isoformat())
    if user:
        query = query.where(EgressUsage.user == user)
    if project:
        query = query.where(EgressUsage.project == project)
    rows: dict[tuple[str, str], UsageRow] = {}
    channels: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for entry in session.execute(query).scalars():
        key = (entry.user, entry.project)
        row = rows.setdefault(key, UsageRow(day=entry.day, user=entry.user, project=entry.project))
        channels[key][entry.channel] = entry.bytes
        row.raw += entry.raw_bytes
    for key, row in rows.items():
        row.channels = channels[key]
    return sorted(rows.values(), key=lambda r: (-r.total, r.user, r.project))
