"""Which daily budget applies: the project's own, else the installation's default."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..settings import EnclaveSettings
from ..state.models import EgressBudget, Project

MIB = 1024 * 1024


def budgets_of(session: Session, settings: EnclaveSettings, projects: set[str]) -> dict[str, int]:
    """The budget in bytes per person per UTC day for each project named."""
    found = {name: settings.metering_daily_budget for name in projects}
    if projects:
        rows = session.execute(
            select(Project.name, EgressBudget.daily_bytes)
            .join(EgressBudget, EgressBudget.project_id == Project.id)
            .where(Project.name.in_(projects))
        )
        for name, daily_bytes in rows:
            found[name] = int(daily_bytes)
    return found
