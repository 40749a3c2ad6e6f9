"""Who received how much: the day's usage per (user, project) with budgets, for `enclave egress-usage`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..settings import EnclaveSettings
from ..state.models import User
from . import ledger
from .budgets import budgets_of


@dataclass(frozen=True)
class UsageLine:
    day: str
    user: str
    project: str
    channels: dict[str, int]
    total: int
    budget: int
    percent: float
    account: str  # the person's account status now (active, suspended, disabled, unknown)

    def as_dict(self) -> dict:
        return asdict(self)


def usage_report(session: Session, settings: EnclaveSettings, day: date, user: str | None = None,
                 project: str | None = None) -> list[UsageLine]:
    """The day's lines, largest total first."""
    rows = ledger.usage(session, day, user=user, project=project)
    budgets = budgets_of(session, settings, {r.project for r in rows})
    names = {r.user for r in rows}
    statuses = dict(session.execute(select(User.name, User.status).where(User.name.in_(names))).all()) if names else {}
    return [
        UsageLine(day=r.day, user=r.user, project=r.project, channels=dict(sorted(r.channels.items())),
                  total=r.total, budget=budgets[r.project], percent=round(100 * r.total / budgets[r.project], 1),
                  account=statuses[r.user].value if r.user in statuses else "unknown")
        for r in rows
    ]


def readable(nbytes: int) -> str:
    """Bytes in binary units: 512 B, 1.5 KiB, 64.0 MiB."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{nbytes} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
