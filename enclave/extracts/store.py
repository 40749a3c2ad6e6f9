"""Making, finding and retiring the recorded extracts of a project's approvals."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..settings import EnclaveSettings
from ..state.models import DatasetApproval, DatasetExtract, Project, utcnow
from .information import extract_information, measuring_limit
from .keys import pseudonym_key
from .materialise import LOOKUP_COLUMN, ExtractRequest, remove_tree, write_extract


def extract_folder(settings: EnclaveSettings, project: str, name: str, version: str) -> Path:
    return settings.state_path / "extracts" / project / name / version


def lookup_file(settings: EnclaveSettings, project: str, name: str, version: str) -> Path:
    return settings.hub_dir / "extracts" / project / name / f"{version}.parquet"


def create_extract(
    session: Session, settings: EnclaveSettings, approval: DatasetApproval, fields: list[str] | None
) -> DatasetExtract:
    """Write the approval's extract and record it in `session`; on failure nothing is left on disk."""
    session.flush()  # gives the approval and the project their ids
    project, dataset = approval.project, approval.dataset
    request = ExtractRequest(
        source=Path(dataset.path),
        label=dataset.label,
        identifier_column=dataset.identifier_column,
        project=project.name,
        project_id=project.id,
        fields=None if fields is None else tuple(fields),
    )
    folder = extract_folder(settings, project.name, dataset.name, dataset.version)
    if folder.exists():  # left by an approval revoked earlier, or by a crash after writing
        remove_tree(folder)
    lookup = lookup_file(settings, project.name, dataset.name, dataset.version)
    written = write_extract(request, pseudonym_key(settings.hub_dir), folder, lookup)
    try:
        extract = DatasetExtract(
            approval=approval,
            project=project,
            dataset=dataset,
            fields=None if fields is None else list(fields),
            path=str(written.path),
            lookup_path=str(lookup),
            manifest_json=written.manifest.to_json(),
            manifest_digest=written.manifest.digest,
            participants=written.participants,
            canaries=list(written.canaries),
            # sizes the project's egress budgets
            information_bytes=extract_information(written.path, measuring_limit(settings)),
        )
        session.add(extract)
        session.flush()
    except BaseException:
        remove_tree(folder)
        raise
    return extract


def extract_of(session: Session, approval: DatasetApproval) -> DatasetExtract | None:
    return session.execute(
        select(DatasetExtract).where(DatasetExtract.approval_id == approval.id, DatasetExtract.removed_at.is_(None))
    ).scalar_one_or_none()


def retire_extract(session: Session, approval: DatasetApproval) -> Path | None:
    """Mark the approval's extract removed; return its folder, for deletion once workspaces are stopped."""
    extract = extract_of(session, approval)
    if extract is None:
        return None
    extract.removed_at = utcnow()
    return Path(extract.path)


def project_extracts(session: Session, project: Project, include_removed: bool = False) -> list[DatasetExtract]:
    query = select(DatasetExtract).where(DatasetExtract.project_id == project.id).order_by(DatasetExtract.id)
    if not include_removed:
        query = query.where(DatasetExtract.removed_at.is_(None))
    return list(session.execute(query).scalars())


def read_pseudonyms(lookup: Path) -> pl.Series:
    """The pseudonyms (canaries included) written with an extract, sorted, as int64."""
    return pl.read_parquet(lookup, columns=[LOOKUP_COLUMN]).to_series()
