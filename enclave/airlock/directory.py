"""The airlock's view of projects (an egress_review.integration.ProjectDirectory), over the enclave's state.

The airlock runs as a separate process; the hub's service definition names
this class (service.py) and it reads the same state database, read-only.
What analysts see, and so could leak, is their project's extracts: the
identifiers are the project's pseudonyms and canaries (the pseudonym list
written with each extract), and the cohort tables are the extract's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Configurable

from ..extracts.store import project_extracts, read_pseudonyms
from ..settings import EnclaveSettings
from ..state.db import open_state_db
from ..state.models import AccountStatus, Role
from ..state.queries import active_membership, active_projects_of, email_of, find_project, find_user, people_with_role

_identifier_cache: dict[str, frozenset[str]] = {}  # manifest digest -> identifiers
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class CurrentExtract:
    path: Path
    lookup: Path
    manifest_digest: str


def extract_identifiers(extract: CurrentExtract) -> frozenset[str]:
    """An extract's pseudonyms and canaries, as text (read once per manifest)."""
    with _cache_lock:
        if extract.manifest_digest in _identifier_cache:
            return _identifier_cache[extract.manifest_digest]
    result = frozenset(str(value) for value in read_pseudonyms(extract.lookup).to_list())
    with _cache_lock:
        _identifier_cache[extract.manifest_digest] = result
    return result


class EnclaveProjectDirectory(Configurable):
    """Membership, status, approvals, outboxes and identifiers of the enclave's projects."""

    @property
    def settings(self) -> EnclaveSettings:
        if not hasattr(self, "_settings"):
            self._settings = EnclaveSettings(parent=self)
        return self._settings

    def _db(self):
        return open_state_db(self.settings.database_url)

    def is_active_member(self, project: str, user: str) -> bool:
        with self._db().reading() as session:
            proj, account = find_project(session, project), find_user(session, user)
            if proj is None or account is None or account.status is not AccountStatus.ACTIVE:
                return False
            return active_membership(session, proj, account) is not None

    def projects_of(self, user: str) -> list[str]:
        with self._db().reading() as session:
            account = find_user(session, user)
            if account is None or account.status is not AccountStatus.ACTIVE:
                return []
            return [p.name for p in active_projects_of(session, account) if p.status.value == "active"]

    def project_status(self, project: str) -> str | None:
        with self._db().reading() as session:
            proj = find_project(session, project)
            return None if proj is None else proj.status.value

    def approvals_required(self, project: str) -> int:
        with self._db().reading() as session:
            proj = find_project(session, project)
            return 2 if proj is None else proj.approvals_required

    def outbox_path(self, project: str, user: str) -> Path:
        return self.settings.projects_dir / project / "outbox" / user

    def _extracts(self, project: str) -> list[CurrentExtract]:
        """The project's current extracts (a revocation retires its extract in the same transaction)."""
        with self._db().reading() as session:
            proj = find_project(session, project)
            if proj is None:
                return []
            return [
                CurrentExtract(Path(e.path), Path(e.lookup_path), e.manifest_digest)
                for e in project_extracts(session, proj)
            ]

    def identifiers(self, project: str) -> frozenset[str]:
        found: set[str] = set()
        for extract in self._extracts(project):
            found |= extract_identifiers(extract)
        return frozenset(found)

    def cohort_tables(self, project: str) -> tuple[Path, ...]:
        return tuple(table for e in self._extracts(project) for table in sorted(e.path.rglob("*.parquet")))

    # Who hears of requests (an egress_review.integration.PeopleDirectory).
    def people_with_role(self, role: str) -> list[str]:
        with self._db().reading() as session:
            return people_with_role(session, Role(role))

    def email_of(self, user: str) -> str | None:
        with self._db().reading() as session:
            return email_of(session, user)
