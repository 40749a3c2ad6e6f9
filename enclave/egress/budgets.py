"""Daily budgets sized to the data: how much one person, and all of a project's members together, may receive.

An operator thinks in days: how long would it take to carry this project's extracts out through
metered channels? Each project's budget per person, and its cap for all members together, is the
information in its extracts (extracts/information.py, stored with each) divided by the days target
(`metering_days_to_extract`, default 30), kept between a floor (work must stay possible on small
projects) and a ceiling (more data buys more days, not a wider channel). A project may set its own
days target, or fixed budgets (`enclave project budget`); a fixed per-person budget above the
derived cap lifts the cap with it, so raising someone's budget is never silently undone.

Traffic outside any project (the hub's pages, the airlock's: channels.HUB_PROJECT, AIRLOCK_PROJECT)
gets the floor per person and no project cap; a project the state does not know gets the floor
for both (fail closed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..settings import EnclaveSettings
from ..state.models import DatasetExtract, EgressBudget, Project
from .channels import AIRLOCK_PROJECT, HUB_PROJECT

MIB = 1024 * 1024
PSEUDO_PROJECTS = frozenset({HUB_PROJECT, AIRLOCK_PROJECT})


@dataclass(frozen=True)
class Budget:
    """One project's daily budgets in bytes, with what they were derived from."""

    per_person: int  # per person per UTC day
    project_cap: int | None  # all members together per UTC day; None: no cap (pseudo-projects)
    extract_bytes: int  # information in the project's current extracts
    days_target: float
    fixed: tuple[str, ...] = ()  # which of person/project/days the project set itself

    @property
    def days_person(self) -> float:
        """Days one person would need to carry the extracts out at this budget."""
        return days_to_extract(self.extract_bytes, self.per_person)

    @property
    def days_project(self) -> float | None:
        """Days all members together would need (None: no project cap)."""
        return None if self.project_cap is None else days_to_extract(self.extract_bytes, self.project_cap)

    def as_dict(self) -> dict:
        found = asdict(self)
        found.update(
            fixed=list(self.fixed),
            days_person=round(self.days_person, 1),
            days_project=None if self.project_cap is None else round(self.days_project, 1),
        )
        return found


def check_bounds(settings: EnclaveSettings) -> tuple[int, int]:
    floor, ceiling = settings.metering_budget_floor, settings.metering_budget_ceiling
    if floor > ceiling:
        raise ValueError(
            f"metering_budget_floor ({floor}) is above metering_budget_ceiling ({ceiling}): "
            "set the floor at most the ceiling"
        )
    return floor, ceiling


def derived_daily(extract_bytes: int, days: float, floor: int, ceiling: int) -> int:
    """The daily budget that makes carrying `extract_bytes` out take `days`, within [floor, ceiling]."""
    return min(max(int(extract_bytes / days), floor), ceiling)


def days_to_extract(extract_bytes: int, daily: int) -> float:
    """Days it takes to carry `extract_bytes` out at `daily` bytes a day."""
    return extract_bytes / daily


def budget_for(settings: EnclaveSettings, extract_bytes: int, row: EgressBudget | None = None) -> Budget:
    """A project's budgets from its extracts' information and its own settings (`row`, if any)."""
    floor, ceiling = check_bounds(settings)
    days = row.days_to_extract if row is not None and row.days_to_extract else settings.metering_days_to_extract
    derived = derived_daily(extract_bytes, days, floor, ceiling)
    person = row.daily_bytes if row is not None and row.daily_bytes else derived
    project = row.project_daily_bytes if row is not None and row.project_daily_bytes else max(derived, person)
    fixed = (
        ()
        if row is None
        else tuple(
            name
            for name, value in (
                ("person", row.daily_bytes),
                ("project", row.project_daily_bytes),
                ("days", row.days_to_extract),
            )
            if value
        )
    )
    return Budget(per_person=person, project_cap=project, extract_bytes=extract_bytes, days_target=days, fixed=fixed)


def budgets_of(session: Session, settings: EnclaveSettings, projects: set[str]) -> dict[str, Budget]:
    """The budgets of each project named (pseudo-projects and unknown projects included)."""
    floor, _ = check_bounds(settings)
    days = settings.metering_days_to_extract
    found = {
        name: Budget(
            per_person=floor, project_cap=None if name in PSEUDO_PROJECTS else floor, extract_bytes=0, days_target=days
        )
        for name in projects
    }
    real = projects - PSEUDO_PROJECTS
    if not real:
        return found
    ids = dict(session.execute(select(Project.name, Project.id).where(Project.name.in_(real))).all())
    if not ids:
        return found
    rows = {
        row.project_id: row
        for row in session.execute(select(EgressBudget).where(EgressBudget.project_id.in_(ids.values()))).scalars()
    }
    sizes = dict(
        session.execute(
            select(DatasetExtract.project_id, func.coalesce(func.sum(DatasetExtract.information_bytes), 0))
            .where(DatasetExtract.project_id.in_(ids.values()), DatasetExtract.removed_at.is_(None))
            .group_by(DatasetExtract.project_id)
        ).all()
    )
    for name, project_id in ids.items():
        found[name] = budget_for(settings, int(sizes.get(project_id, 0)), rows.get(project_id))
    return found
