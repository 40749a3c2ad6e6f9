"""Creating projects and moving them through their life: active, suspended, archived."""

from __future__ import annotations

from sqlalchemy import select

from ..errors import AlreadyExists, InvalidInput, InvalidState
from ..state.models import Project, ProjectStatus
from ..state.queries import get_project
from .base import OperatorContext
from .names import check_name

IMAGES = ("workspace", "genomics")  # image kinds an operator may choose for a project


def create_project(ctx: OperatorContext, name: str, title: str = "", image: str = "workspace",
                   approvals_required: int = 2) -> Project:
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


def _set_status(ctx: OperatorContext, name: str, action: str, allowed_from: set[ProjectStatus],
                to: ProjectStatus) -> Project:
    def change(session):
        project = get_project(session, name)
        if project.status not in allowed_from:
            raise InvalidState(
                f"Project {name!r} is {project.status.value}; it cannot be {action}d from that state."
            )
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


def set_limits(ctx: OperatorContext, name: str, mem_limit: str | None = None, cpu_limit: float | None = None,
               pids_limit: int | None = None) -> Project:
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

    return ctx.audited("project.set-limits", name, change,
                       {"mem_limit": mem_limit, "cpu_limit": cpu_limit, "pids_limit": pids_limit})


def set_egress_budget(ctx: OperatorContext, name: str, daily_bytes: int | None) -> int | None:
    """Set the project's daily egress budget per person (None: back to the installation default).

    Running edges pick the new budget up within about a second.
    """
    from ..state.models import EgressBudget

    def change(session):
        project = get_project(session, name)
        row = session.execute(select(EgressBudget).where(EgressBudget.project_id == project.id)).scalar_one_or_none()
        if daily_bytes is None:
            if row is not None:
                session.delete(row)
            return None
        if daily_bytes < 1:
            raise InvalidInput("A daily budget must be at least 1 byte; use --default for the installation's.")
        if row is None:
            session.add(EgressBudget(project_id=project.id, daily_bytes=daily_bytes))
        else:
            row.daily_bytes = daily_bytes
        return daily_bytes

    return ctx.audited("project.set-budget", name, change,
                       {"daily_bytes": daily_bytes if daily_bytes is not None else "default"})
