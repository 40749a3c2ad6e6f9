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

from ..datasets.manifest import Manifest
from ..errors import DatasetIntegrityError, NotFound, SpawnRefused
from ..settings import EnclaveSettings
from ..state.db import StateDB
from ..state.models import AccountStatus, ProjectStatus
from ..extracts.store import extract_of
from ..state.queries import active_approvals, active_membership, get_project, get_user

DATA_ROOT = "/data"
HOME = "/home/analyst"


@dataclass(frozen=True)
class DatasetMount:
    label: str  # name@version
    source: Path  # host folder: the project's extract
    target: str  # path inside the workspace


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


def _sizes_match(folder: Path, manifest: Manifest) -> bool:
    """A cheap guard at every spawn; the full checksum check runs at approval and on demand."""
    try:
        on_disk = {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    except OSError:
        return False
    return on_disk == {e.path: e.size for e in manifest.entries}


def project_dataset_mounts(session, proj) -> list[DatasetMount]:
    """The project's extracts of its approved datasets, each checked against its manifest's sizes."""
    mounts = []
    for approval in active_approvals(session, proj):
        dataset = approval.dataset
        extract = extract_of(session, approval)
        if extract is None:
            raise DatasetIntegrityError(
                f"Project {proj.name!r} has no extract of {dataset.label}; nothing of the project will start "
                "until an operator approves it again ('enclave dataset revoke', then 'approve')."
            )
        folder = Path(extract.path)
        if not _sizes_match(folder, Manifest.from_json(extract.manifest_json)):
            raise DatasetIntegrityError(
                f"The extract of {dataset.label} for {proj.name!r} no longer matches its manifest; nothing of "
                "the project will start until an operator checks it."
            )
        mounts.append(DatasetMount(dataset.label, folder, f"{DATA_ROOT}/{dataset.name}/{dataset.version}"))
    return mounts


def plan_workspace(db: StateDB, settings: EnclaveSettings, user: str, project: str) -> WorkspacePlan:
    if not project:
        raise SpawnRefused("Workspaces are per project: start one from the hub's home page for a project "
                           "you are a member of.")
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
            raise SpawnRefused(f"Project {project!r} is {proj.status.value}; its workspaces cannot start. "
                               "Ask an operator.")
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
