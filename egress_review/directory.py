"""What the airlock needs to know about projects, from the enclave's own state.

The host (the enclave) implements ``ProjectDirectory`` over its state, as
published in ``egress_review.integration``; the airlock only reads through it.
``InMemoryProjectDirectory`` is a stand-in for that separate component, for
tests and demos. ``DenyAllDirectory`` is what the service uses when no
directory is configured: it knows no project, so nobody can request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

DEFAULT_APPROVALS_REQUIRED = 2
PROJECT_STATUSES = ("active", "suspended", "archived")


@runtime_checkable
class ProjectDirectory(Protocol):
    def is_active_member(self, project: str, user: str) -> bool: ...

    def projects_of(self, user: str) -> list[str]:
        """Names of the active projects ``user`` is an active member of (the airlock's project choice)."""

    def project_status(self, project: str) -> str | None:
        """ "active", "suspended", "archived", or None for an unknown project."""

    def approvals_required(self, project: str) -> int: ...

    def outbox_path(self, project: str, user: str) -> Path:
        """Host path of ``user``'s outbox in ``project`` (the airlock only reads it)."""

    def identifiers(self, project: str) -> frozenset[str]:
        """Participant identifiers of every dataset the project can see."""

    def cohort_tables(self, project: str) -> tuple[Path, ...]:
        """Parquet files of the project's cohort data, for the row-level check."""


class DenyAllDirectory:
    """Knows no project: every membership check fails (fail closed)."""

    def is_active_member(self, project: str, user: str) -> bool:
        return False

    def projects_of(self, user: str) -> list[str]:
        return []

    def project_status(self, project: str) -> str | None:
        return None

    def approvals_required(self, project: str) -> int:
        return DEFAULT_APPROVALS_REQUIRED

    def outbox_path(self, project: str, user: str) -> Path:
        raise LookupError(f"unknown project {project!r}")

    def identifiers(self, project: str) -> frozenset[str]:
        return frozenset()

    def cohort_tables(self, project: str) -> tuple[Path, ...]:
        return ()


@dataclass
class InMemoryProject:
    members: set[str] = field(default_factory=set)
    status: str = "active"
    approvals_required: int = DEFAULT_APPROVALS_REQUIRED
    identifiers: frozenset[str] = frozenset()
    cohort_tables: tuple[Path, ...] = ()


@dataclass
class InMemoryProjectDirectory:
    """A test double for the enclave's project state.

    Outboxes live at ``<outbox_root>/<project>/<user>``, the same layout the
    enclave bind-mounts into workspaces.
    """

    outbox_root: Path
    projects: dict[str, InMemoryProject] = field(default_factory=dict)

    def add_project(self, name: str, members=(), **settings) -> InMemoryProject:
        project = InMemoryProject(members=set(members), **settings)
        self.projects[name] = project
        for user in project.members:
            self.outbox_path(name, user).mkdir(parents=True, exist_ok=True)
        return project

    def is_active_member(self, project: str, user: str) -> bool:
        p = self.projects.get(project)
        return p is not None and user in p.members

    def projects_of(self, user: str) -> list[str]:
        return sorted(name for name, p in self.projects.items() if user in p.members and p.status == "active")

    def project_status(self, project: str) -> str | None:
        p = self.projects.get(project)
        return None if p is None else p.status

    def approvals_required(self, project: str) -> int:
        p = self.projects.get(project)
        return DEFAULT_APPROVALS_REQUIRED if p is None else p.approvals_required

    def outbox_path(self, project: str, user: str) -> Path:
        return Path(self.outbox_root) / project / user

    def identifiers(self, project: str) -> frozenset[str]:
        p = self.projects.get(project)
        return frozenset() if p is None else p.identifiers

    def cohort_tables(self, project: str) -> tuple[Path, ...]:
        p = self.projects.get(project)
        return () if p is None else p.cohort_tables
