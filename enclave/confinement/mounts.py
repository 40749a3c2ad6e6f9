"""The project's data as its containers see it: its extracts of the datasets approved for it (never the
source folders), read-only at /data/<name>/<version>, each still matching its manifest's sizes.
Workspaces and Spark nodes mount the same list, so a job reads the same paths wherever it runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..datasets.manifest import Manifest
from ..errors import DatasetIntegrityError
from ..extracts.store import extract_of
from ..state.queries import active_approvals

DATA_ROOT = "/data"


@dataclass(frozen=True)
class DatasetMount:
    label: str  # name@version
    source: Path  # host folder: the project's extract
    target: str  # path inside the container


def _sizes_match(folder: Path, manifest: Manifest) -> bool:
    """A cheap guard at every start; the full checksum check runs at approval and on demand."""
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
