"""The package allowlist: add, remove, list and verify, each change audited.

An entry allows one version of one package for every project (no project) or for one project; its
files are the package's wheel and its dependencies'. The network work (pip) happens before the state
database's write transaction; the records, the published files and the audit event then change
together, and a refusal changes nothing and is audited.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import AlreadyExists, EnclaveError, NotFound
from ..operations.base import OperatorContext
from ..state.models import AllowedPackage, PackageFile, Project
from ..state.queries import get_project
from . import folders
from .fetch import FetchedFile, fetch
from .requirement import PackageRequirement, parse_requirement

HOST_INDEX = "the host's package index"


@dataclass(frozen=True)
class AllowedEntry:
    scope: str  # "all" or the project's name
    name: str
    version: str
    files: tuple[tuple[str, str, int], ...]  # (filename, sha256, size)
    added_by: str
    added_at: datetime
    source: str


def _target(project: str | None, name: str) -> str:
    return f"{project or folders.ALL_PROJECTS}:{name}"


def _refuse(refusal: EnclaveError):
    def change(session):
        raise refusal

    return change


def _project_row(session: Session, project: str | None) -> Project | None:
    return None if project is None else get_project(session, project)


def _in_scope(project_row: Project | None):
    return AllowedPackage.project_id.is_(None) if project_row is None else AllowedPackage.project_id == project_row.id


def _check_recorded_hashes(session: Session, files: list[FetchedFile]) -> None:
    """A file name keeps the bytes it was first recorded with, in every scope."""
    for file in files:
        recorded = session.execute(
            select(PackageFile.sha256).where(PackageFile.filename == file.filename).limit(1)
        ).scalar_one_or_none()
        if recorded is not None and recorded != file.sha256:
            raise folders.changed_file(file.filename, recorded, file.sha256, "as fetched now")


def _entry(package: AllowedPackage) -> AllowedEntry:
    return AllowedEntry(
        scope=package.project.name if package.project is not None else folders.ALL_PROJECTS,
        name=package.name,
        version=package.version,
        files=tuple(sorted((f.filename, f.sha256, f.size) for f in package.files)),
        added_by=package.added_by,
        added_at=package.added_at,
        source=package.source,
    )


def add_package(
    ctx: OperatorContext, requested: str, project: str | None = None, wheels_from: Path | None = None
) -> AllowedEntry:
    """Allow a package (and what it depends on) for one project, or for all: fetch, verify, record, publish."""
    details = {"requested": requested, "source": str(wheels_from) if wheels_from else HOST_INDEX}
    try:
        requirement = parse_requirement(requested)
        with ctx.db.reading() as session:
            _project_row(session, project)
    except EnclaveError as refusal:
        ctx.audited("packages.add", _target(project, requested), _refuse(refusal), details=details)
        raise
    target = _target(project, requirement.name)
    with tempfile.TemporaryDirectory(prefix="enclave-packages-") as tmp:
        try:
            files = fetch(requirement, Path(tmp), wheels_from)
        except EnclaveError as refusal:
            ctx.audited("packages.add", target, _refuse(refusal), details=details)
            raise
        own = next(f for f in files if f.project == requirement.name)
        details.update(
            version=own.version, files=[{"file": f.filename, "sha256": f.sha256, "bytes": f.size} for f in files]
        )

        def change(session: Session) -> AllowedEntry:
            return _record_and_publish(ctx, session, project, requirement, own.version, files, details["source"])

        return ctx.audited("packages.add", target, change, details=details)


def _record_and_publish(
    ctx: OperatorContext,
    session: Session,
    project: str | None,
    requirement: PackageRequirement,
    version: str,
    files: list[FetchedFile],
    source: str,
) -> AllowedEntry:
    project_row = _project_row(session, project)
    existing = session.execute(
        select(AllowedPackage).where(
            _in_scope(project_row), AllowedPackage.name == requirement.name, AllowedPackage.version == version
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise AlreadyExists(
            f"{requirement.name} {version} is already allowed for {project or 'all projects'}; nothing to do."
        )
    _check_recorded_hashes(session, files)
    package = AllowedPackage(
        project=project_row,
        name=requirement.name,
        version=version,
        requested=str(requirement),
        source=source,
        added_by=ctx.actor,
        files=[PackageFile(filename=f.filename, sha256=f.sha256, size=f.size) for f in files],
    )
    session.add(package)
    session.flush()
    folders.publish(ctx.settings, project, files)  # last: a refusal above leaves the folder as it was
    return _entry(package)


def remove_package(ctx: OperatorContext, requested: str, project: str | None = None) -> list[AllowedEntry]:
    """Withdraw a package (every allowed version, or the one named) from one project's list or the installation's.

    Its files leave the scope's folder unless another entry of that scope still needs them. Workspaces
    that installed it keep their copy until the analyst uninstalls it.
    """
    try:
        requirement = parse_requirement(requested)
    except EnclaveError as refusal:
        ctx.audited("packages.remove", _target(project, requested), _refuse(refusal))
        raise

    def change(session: Session) -> list[AllowedEntry]:
        project_row = _project_row(session, project)
        query = select(AllowedPackage).where(_in_scope(project_row), AllowedPackage.name == requirement.name)
        if requirement.version is not None:
            query = query.where(AllowedPackage.version == requirement.version)
        doomed = list(session.execute(query).scalars())
        if not doomed:
            raise NotFound(
                f"{requirement} is not on the allowlist of {project or 'all projects'}: see "
                f"'enclave packages list{' --project ' + project if project else ''}'."
            )
        removed = [_entry(p) for p in doomed]
        for package in doomed:
            session.delete(package)
        session.flush()
        still_needed = set(
            session.execute(select(PackageFile.filename).join(AllowedPackage).where(_in_scope(project_row))).scalars()
        )
        gone = sorted({f[0] for e in removed for f in e.files} - still_needed)
        folders.unpublish(ctx.settings, project, gone)
        return removed

    return ctx.audited("packages.remove", _target(project, requirement.name), change, details={"requested": requested})


def list_packages(ctx: OperatorContext, project: str | None = None) -> list[AllowedEntry]:
    """Every entry; with a project, what its index serves (the installation's entries and the project's)."""
    with ctx.db.reading() as session:
        query = select(AllowedPackage)
        if project is not None:
            project_row = get_project(session, project)
            query = query.where((AllowedPackage.project_id.is_(None)) | (AllowedPackage.project_id == project_row.id))
        entries = [_entry(p) for p in session.execute(query).scalars()]
    return sorted(entries, key=lambda e: (e.scope != folders.ALL_PROJECTS, e.scope, e.name, e.version))


def verify_published(ctx: OperatorContext) -> list[folders.FolderProblem]:
    """Every scope's folder against the records: files missing, changed, or there without a record."""
    with ctx.db.reading() as session:
        recorded: dict[str | None, dict[str, str]] = {None: {}}
        for package in session.execute(select(AllowedPackage)).scalars():
            scope = package.project.name if package.project is not None else None
            recorded.setdefault(scope, {}).update({f.filename: f.sha256 for f in package.files})
        for name in session.execute(select(Project.name)).scalars():
            recorded.setdefault(name, {})
    problems = []
    for scope, files in sorted(recorded.items(), key=lambda item: item[0] or ""):
        problems += folders.check_folder(ctx.settings, scope, files)
    return problems
