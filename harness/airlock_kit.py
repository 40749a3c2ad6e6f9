"""An airlock over temporary folders, with the people who use it: what tests and benchmarks build one from.

`make_env` gives the real services on a fresh database (SQLite in the folder, or the URL given), staging store
and in-memory project directory; principals for an analyst, reviewers and an operator. The running service
never uses it (it is outside the product's packages). Requests in a given state are made by the tests' own
recipes, tests/support/airlock_states.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from egress_review.checks.types import CheckContext, CheckResult, Verdict
from egress_review.directory import InMemoryProjectDirectory
from egress_review.domain.limits import InputLimits
from egress_review.domain.permissions import Principal, Scope
from egress_review.services import Airlock, AirlockContext
from egress_review.staging import StagingLimits, StagingStore
from egress_review.storage.db import Database

PROJECT = "proj-a"
ANALYST = "alice"


def analyst(name: str = ANALYST) -> Principal:
    return Principal(name, frozenset({Scope.REQUEST.value}))


def reviewer(name: str) -> Principal:
    return Principal(name, frozenset({Scope.REVIEW.value}))


def operator(name: str = "olive") -> Principal:
    return Principal(name, frozenset({Scope.OPERATE.value}))


def passing_checks(path: Path, context: CheckContext) -> list[CheckResult]:
    return [CheckResult(rule="fake_pass", version="1", parameters={"n": 1}, verdict=Verdict.PASS, summary="ok")]


@dataclass
class Env:
    airlock: Airlock
    directory: InMemoryProjectDirectory
    db: Database
    staging: StagingStore
    root: Path

    @property
    def ctx(self) -> AirlockContext:
        return self.airlock.ctx

    def outbox(self, project: str = PROJECT, user: str = ANALYST) -> Path:
        path = self.directory.outbox_path(project, user)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_outbox(self, relpath: str, content: bytes | str, project: str = PROJECT, user: str = ANALYST) -> Path:
        path = self.outbox(project, user) / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path


def make_env(
    root: Path,
    *,
    db_url: str | None = None,
    checks=passing_checks,
    limits: StagingLimits | None = None,
    inputs: InputLimits | None = None,
    approvals_required: int = 2,
) -> Env:
    root = Path(root)
    directory = InMemoryProjectDirectory(outbox_root=root / "outboxes")
    directory.add_project(PROJECT, members={ANALYST, "bob"}, approvals_required=approvals_required)
    db = Database(db_url or f"sqlite:///{root / 'egress.sqlite'}")
    db.upgrade()
    staging = StagingStore(root / "staging")
    ctx = AirlockContext(
        db=db,
        staging=staging,
        directory=directory,
        limits=limits or StagingLimits(),
        inputs=inputs or InputLimits(),
        run_checks=checks,
    )
    return Env(airlock=Airlock(ctx), directory=directory, db=db, staging=staging, root=root)
