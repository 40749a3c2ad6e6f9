"""The airlock's view of projects (egress_review.directory.ProjectDirectory), over the enclave's state.

The airlock runs as a separate process; it is given this class by import
path and reads the same state database, read-only. What analysts see, and
so could leak, is their project's extracts: the identifiers are the
project's pseudonyms and canaries, and the cohort tables are the extract's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import select
from traitlets.config import Configurable

from ..settings import EnclaveSettings
from .db import open_state_db
from .models import AccountStatus, DatasetExtract, Project
from .queries import active_approvals, active_membership, find_user

_identifier_cache: dict[str, frozenset[str]] = {}  # manifest digest -> identifiers
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class ApprovedData:
    path: Path
    manifest_digest: str
    identifier_column: str


def dataset_identifiers(data: ApprovedData) -> frozenset[str]:
    """Every participant identifier in a dataset's Parquet tables, as text (read once per manifest)."""
    with _cache_lock:
        if data.manifest_digest in _identifier_cache:
            return _identifier_cache[data.manifest_digest]
    values: set[str] = set()
    for table in sorted(data.path.rglob("*.parquet")):
        if data.identifier_column in pl.read_parquet_schema(table):
            column = pl.scan_parquet(table).select(pl.col(data.identifier_column).cast(pl.String)).unique()
            values.update(v for v in column.collect().to_series().to_list() if v is not None)
    result = frozenset(values)
    with _cache_lock:
        _identifier_cache[data.manifest_digest] = result
    return result


class EnclaveProjectDirectory(Configurable):
    """Membership, status, approvals, outboxes and identifiers of the enclave's projects."""

    @property
    def settings(self) -> EnclaveSettings:
        if not hasattr(self, "_settings"):
            self._settings = EnclaveSettings(parent=self)
        return self._settings

    def _project(self, session, name: str):
        return session.execute(select(Project).where(Project.name == name)).scalar_one_or_none()

    def _db(self):
        return open_state_db(self.settings.database_url)

    def is_active_member(self, project: str, user: str) -> bool:
        with self._db().reading() as session:
            proj, account = self._project(session, project), find_user(session, user)
            if proj is None or account is None or account.status is not AccountStatus.ACTIVE:
                return False
            return active_membership(session, proj, account) is not None

    def project_status(self, project: str) -> str | None:
        with self._db().reading() as session:
            proj = self._project(session, project)
            return None if proj is None else proj.status.value

    def approvals_required(self, project: str) -> int:
        with self._db().reading() as session:
            proj = self._project(session, project)
            return 2 if proj is None else proj.approvals_required

    def outbox_path(self, project: str, user: str) -> Path:
        return self.settings.projects_dir / project / "outbox" / user

    def _datasets(self, project: str) -> list[ApprovedData]:
        """The project's current extracts (pseudonymised tables with canaries)."""
        with self._db().reading() as session:
            proj = self._project(session, project)
            if proj is None:
                return []
            approvals = {a.id for a in active_approvals(session, proj)}
            extracts = session.execute(
                select(DatasetExtract).where(DatasetExtract.project_id == proj.id,
                                             DatasetExtract.removed_at.is_(None)).order_by(DatasetExtract.id)
            ).scalars()
            return [ApprovedData(Path(e.path), e.manifest_digest, e.dataset.identifier_column)
                    for e in extracts if e.approval_id in approvals]

    def identifiers(self, project: str) -> frozenset[str]:
        found: set[str] = set()
        for dataset in self._datasets(project):
            found |= dataset_identifiers(dataset)
        return frozenset(found)

    def cohort_tables(self, project: str) -> tuple[Path, ...]:
        return tuple(table for d in self._datasets(project) for table in sorted(d.path.rglob("*.parquet")))
