"""Deciding whether a workspace may start, and with what.

Everything the spawner needs about a (user, project) pair is read from the
enclave's state in one place, so the rules are easy to find and to test:
an active account, an active project, an active membership, and only the
project's extracts of the datasets approved for it (never the source
folders), each still matching its manifest's sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..confinement.mounts import DatasetMount, project_dataset_mounts
from ..errors import NotFound, SpawnRefused
from ..settings import EnclaveSettings
from ..state.db import StateDB
from ..state.models import AccountStatus, ProjectStatus
from ..state.queries import active_membership, get_project, get_user

HOME = "/home/analyst"


@dataclass(frozen=True)
class WorkspacePlan:
    user: str
    project: str
    image_kind: str
    mem_limit: str
    cpu_limit: float
    pids_limit: int
    datasets: tuple[DatasetMount, ...]
    home: Path
    shared: Path
    outbox: Path


def plan_workspace(db: StateDB, settings: EnclaveSettings, user: str, project: str) -> WorkspacePlan:
    if not project:
        raise SpawnRefused(
            "Workspaces are per project: start one from the hub's home page for a project you are a member of."
        )
    with db.reading() as session:
        try:
            account = get_user(session, user)
            proj = get_project(session, project)
        except NotFound:
            raise SpawnRefused(f"{user!r} is not a member of a project named {project!r}.") from None
        if account.status is not AccountStatus.ACTIVE:
            raise SpawnRefused(f"The account {user!r} is {account.status.value}. Ask an operator.")
        if active_membership(session, proj, account) is None:
            raise SpawnRefused(f"{user!r} is not a member of a project named {project!r}.")
        if proj.status is not ProjectStatus.ACTIVE:
            raise SpawnRefused(
                f"Project {project!r} is {proj.status.value}; its workspaces cannot start. Ask an operator."
            )
        mounts = project_dataset_mounts(session, proj)
        root = settings.projects_dir / project
        return WorkspacePlan(
            user=user,
            project=project,
            image_kind=proj.image,
            mem_limit=proj.mem_limit or settings.workspace_mem_limit,
            cpu_limit=proj.cpu_limit or settings.workspace_cpu_limit,
            pids_limit=proj.pids_limit or settings.workspace_pids_limit,
            datasets=tuple(mounts),
            home=root / "homes" / user,
            shared=root / "shared",
            outbox=root / "outbox" / user,
        )
