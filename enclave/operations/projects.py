"""Creating projects and moving them through their life: active, suspended, archived."""

from __future__ import annotations

from sqlalchemy import select

from ..egress.budgets import Budget, budgets_of
from ..errors import AlreadyExists, InvalidInput, InvalidState
from ..state.models import EgressBudget, Project, ProjectStatus
from ..state.queries import get_project
from .base import OperatorContext
from .names import check_name

IMAGES = ("workspace", "genomics", "r")  # image kinds an operator may choose for a project


def create_project(
    ctx: OperatorContext, name: str, title: str = "", image: str = "workspace", approvals_required: int = 2
) -> Project:
    def change(session):
        check_name("project", name)
        if image not in IMAGES:
            raise InvalidInput(f"Unknown image {image!r}: choose one of {', '.join(IMAGES)}.")
        if not 1 <= approvals_required <= 5:
            raise InvalidInput("approvals_required must be between 1 and 5.")
        if session.execute(select(Project).where(Project.name == name)).scalar_one_or_none():
            raise AlreadyExists(f"A project named {name!r} exists already; choose another name.")
        project = Project(name=name, title=title, image=image, approvals_required=approvals_required)
        session.add(project)
        session.flush()
        return project

    project = ctx.audited("project.create", name, change, {"title": title, "image": image})
    project_dirs(ctx, name)
    return project


def project_dirs(ctx: OperatorContext, name: str) -> None:
    """The project's folders on the host: shared files, per-user homes and outboxes."""
    root = ctx.settings.projects_dir / name
    for sub in ("shared", "homes", "outbox"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # Workspaces run as uid 1000; the project's shared folder is theirs to write.
    import os

    os.chown(root / "shared", 1000, 1000)


def list_projects(ctx: OperatorContext) -> list[Project]:
    with ctx.db.transaction() as session:
        return list(session.execute(select(Project).order_by(Project.name)).scalars())


def _set_status(
    ctx: OperatorContext, name: str, action: str, allowed_from: set[ProjectStatus], to: ProjectStatus
) -> Project:
    def change(session):
        project = get_project(session, name)
        if project.status not in allowed_from:
            raise InvalidState(f"Project {name!r} is {project.status.value}; it cannot be {action}d from that state.")
        project.status = to
        return project

    return ctx.audited(f"project.{action}", name, change)


def suspend_project(ctx: OperatorContext, name: str) -> list[str]:
    """Suspend: refuse new spawns, then stop every running workspace of the project."""
    _set_status(ctx, name, "suspend", {ProjectStatus.ACTIVE}, ProjectStatus.SUSPENDED)
    return ctx.workspaces.stop(name)


def resume_project(ctx: OperatorContext, name: str) -> Project:
    return _set_status(ctx, name, "resume", {ProjectStatus.SUSPENDED}, ProjectStatus.ACTIVE)


def archive_project(ctx: OperatorContext, name: str) -> list[str]:
    _set_status(ctx, name, "archive", {ProjectStatus.ACTIVE, ProjectStatus.SUSPENDED}, ProjectStatus.ARCHIVED)
    return ctx.workspaces.stop(name)


def set_limits(
    ctx: OperatorContext,
    name: str,
    mem_limit: str | None = None,
    cpu_limit: float | None = None,
    pids_limit: int | None = None,
) -> Project:
    import re

    def change(session):
        project = get_project(session, name)
        if mem_limit is not None:
            if not re.match(r"^\d+[kmgKMG]?$", mem_limit):
                raise InvalidInput(f"Memory limit {mem_limit!r} is not valid: use a number with k, m or g, e.g. 8G.")
            project.mem_limit = mem_limit.upper()
        if cpu_limit is not None:
            if not 0.1 <= cpu_limit <= 64:
                raise InvalidInput("CPU limit must be between 0.1 and 64 cores.")
            project.cpu_limit = cpu_limit
        if pids_limit is not None:
            if not 64 <= pids_limit <= 65536:
                raise InvalidInput("Process limit must be between 64 and 65536.")
            project.pids_limit = pids_limit
        return project

    return ctx.audited(
        "project.set-limits", name, change, {"mem_limit": mem_limit, "cpu_limit": cpu_limit, "pids_limit": pids_limit}
    )


def set_idle_timeout(ctx: OperatorContext, name: str, seconds: int | None) -> Project:
    """Seconds of inactivity before the project's workspaces are stopped; None: the installation default."""

    def change(session):
        if seconds is not None and not 10 <= seconds <= 30 * 24 * 3600 and seconds != 0:
            raise InvalidInput("An idle timeout is between 1 minute and 30 days (or 0: never stop idle workspaces).")
        project = get_project(session, name)
        project.idle_timeout = seconds
        return project

    return ctx.audited("project.set-idle-timeout", name, change, {"seconds": seconds})


UNCHANGED = object()  # set_egress_budget: leave this part as it is


def set_egress_budget(
    ctx: OperatorContext, name: str, daily_bytes=UNCHANGED, *, project_daily_bytes=UNCHANGED, days_to_extract=UNCHANGED
) -> Budget:
    """Set a project's own metering: its budget per person, its cap on all members together (bytes per
    UTC day) and the days target both derive from; None: derived again from the installation's
    settings and the project's extracts (enclave.egress.budgets). Returns the project's budget now.

    Running edges pick the new budgets up within about a second.
    """
    wanted = {
        "daily_bytes": daily_bytes,
        "project_daily_bytes": project_daily_bytes,
        "days_to_extract": days_to_extract,
    }
    changes = {key: value for key, value in wanted.items() if value is not UNCHANGED}

    def change(session):
        for key, value in changes.items():
            if value is None:
                continue
            if key == "days_to_extract" and not value >= 1:
                raise InvalidInput("A days target must be at least 1 day; use --default for the installation's.")
            if key != "days_to_extract" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidInput(
                    "A daily budget must be a whole number of bytes, at least 1; use --default for the installation's."
                )
        project = get_project(session, name)
        row = session.execute(select(EgressBudget).where(EgressBudget.project_id == project.id)).scalar_one_or_none()
        if row is None:
            row = EgressBudget(project_id=project.id)
            session.add(row)
        for key, value in changes.items():
            setattr(row, key, value)
        if row.daily_bytes is None and row.project_daily_bytes is None and row.days_to_extract is None:
            session.delete(row)  # nothing of its own: everything derived
        session.flush()
        return budgets_of(session, ctx.settings, {name})[name]

    return ctx.audited(
        "project.set-budget",
        name,
        change,
        {key: "derived" if value is None else value for key, value in changes.items()},
    )


def project_budgets(ctx: OperatorContext, names: set[str] | None = None) -> dict[str, Budget]:
    """The budgets of the projects named (every project when None), by name."""
    with ctx.db.reading() as session:
        if names is None:
            names = set(session.execute(select(Project.name)).scalars())
        for name in names:
            get_project(session, name)  # a clear error for a project that does not exist
        return budgets_of(session, ctx.settings, set(names))
