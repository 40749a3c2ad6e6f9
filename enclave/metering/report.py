"""Who received how much, against which budgets: the day's usage per (user, project) and per project,
for `enclave egress-usage`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..egress.budgets import Budget, budgets_of
from ..settings import EnclaveSettings
from ..state.models import Project, User
from . import ledger


@dataclass(frozen=True)
class UsageLine:
    day: str
    user: str
    project: str
    channels: dict[str, int]  # counted bytes (information) per channel
    total: int  # counted bytes, all channels
    raw: int  # bytes on the wire, all channels
    budget: int  # the person's daily budget in this project
    percent: float
    account: str  # the person's account status now (active, suspended, disabled, unknown)

    def as_dict(self) -> dict:
        return asdict(self)


def usage_report(
    session: Session, settings: EnclaveSettings, day: date, user: str | None = None, project: str | None = None
) -> list[UsageLine]:
    """The day's lines, largest total first."""
    rows = ledger.usage(session, day, user=user, project=project)
    budgets = budgets_of(session, settings, {r.project for r in rows})
    names = {r.user for r in rows}
    statuses = dict(session.execute(select(User.name, User.status).where(User.name.in_(names))).all()) if names else {}
    return [
        UsageLine(
            day=r.day,
            user=r.user,
            project=r.project,
            channels=dict(sorted(r.channels.items())),
            total=r.total,
            raw=r.raw,
            budget=budgets[r.project].per_person,
            percent=round(100 * r.total / budgets[r.project].per_person, 1),
            account=statuses[r.user].value if r.user in statuses else "unknown",
        )
        for r in rows
    ]


@dataclass(frozen=True)
class ProjectLine:
    """One project's budgets, what they derive from, and the day's usage by all members together."""

    day: str
    project: str
    budget: Budget
    total: int  # counted today, all members
    raw: int  # on the wire today, all members

    @property
    def percent(self) -> float | None:
        return None if self.budget.project_cap is None else round(100 * self.total / self.budget.project_cap, 1)

    def as_dict(self) -> dict:
        return {
            "day": self.day,
            "project": self.project,
            **self.budget.as_dict(),
            "total": self.total,
            "raw": self.raw,
            "percent": self.percent,
        }


def project_report(
    session: Session, settings: EnclaveSettings, day: date, project: str | None = None
) -> list[ProjectLine]:
    """Every project's budgets and today's usage (or the one named), by name; pseudo-projects only when used."""
    usage = ledger.usage(session, day, project=project)
    names = {project} if project else set(session.execute(select(Project.name)).scalars())
    names |= {r.project for r in usage}
    budgets = budgets_of(session, settings, names)
    lines = []
    for name in sorted(names):
        rows = [r for r in usage if r.project == name]
        lines.append(
            ProjectLine(
                day=day.isoformat(),
                project=name,
                budget=budgets[name],
                total=sum(r.total for r in rows),
                raw=sum(r.raw for r in rows),
            )
        )
    return lines


def readable(nbytes: int) -> str:
    """Bytes in binary units: 512 B, 1.5 KiB, 64.0 MiB."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{nbytes} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
