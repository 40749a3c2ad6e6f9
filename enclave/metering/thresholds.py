"""Raising the 50% alert and the 100% exceeded event, once each, with their audit entries.

For a person: metering.alert and metering.exceeded (target project/user). For a project's cap on
all its members together: metering.project-alert and metering.project-exceeded (target project),
marked with PROJECT_WIDE as the user.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..state import audit
from ..state.models import EgressMark

ACTOR = "metering"
ALERT, EXCEEDED = "alert", "exceeded"
PROJECT_WIDE = ""  # the mark's user for a project's cap: no one person


def reached(total: int, budget: int) -> list[str]:
    """The thresholds `total` has reached: alert at half the budget, exceeded at all of it."""
    kinds = []
    if 2 * total >= budget:
        kinds.append(ALERT)
    if total >= budget:
        kinds.append(EXCEEDED)
    return kinds


def action_of(kind: str, user: str) -> str:
    """The audit action (and operators' notice) of a threshold: metering.<kind> or metering.project-<kind>."""
    return f"metering.project-{kind}" if user == PROJECT_WIDE else f"metering.{kind}"


def raise_new(session: Session, day: date, user: str, project: str, total: int, budget: int) -> list[str]:
    """Record each reached threshold not yet recorded for this day and budget; returns the new ones.

    `user` PROJECT_WIDE: the project's cap on all its members together.

    Runs in the writer transaction that added the bytes: the mark, its audit
    event and the counters commit together, and BEGIN IMMEDIATE (SQLite) or the
    unique key (PostgreSQL) keeps two edge processes from both raising it.
    """
    new = []
    for kind in reached(total, budget):
        exists = session.execute(
            select(EgressMark.id).where(
                EgressMark.day == day.isoformat(),
                EgressMark.user == user,
                EgressMark.project == project,
                EgressMark.kind == kind,
                EgressMark.budget == budget,
            )
        ).first()
        if exists:
            continue
        session.add(EgressMark(day=day.isoformat(), user=user, project=project, kind=kind, budget=budget))
        session.flush()
        target = project if user == PROJECT_WIDE else f"{project}/{user}"
        audit.record(
            session,
            actor=ACTOR,
            action=action_of(kind, user),
            target=target,
            outcome="ok" if kind == ALERT else "refused",
            details={
                "day": day.isoformat(),
                "bytes": total,
                "budget": budget,
                "percent": round(100 * total / budget, 1),
            },
        )
        new.append(kind)
    return new
