"""Registering datasets and approving them for projects."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select

from ..airlock.sketches import remove_extract_sketches, write_extract_sketches
from ..datasets.manifest import Manifest, ManifestError, compute_manifest, verify_manifest
from ..errors import AlreadyExists, DatasetIntegrityError, InvalidInput, InvalidState, NotFound
from ..extracts.materialise import remove_tree
from ..extracts.store import create_extract, retire_extract
from ..state.models import Dataset, DatasetApproval, DatasetExtract, ProjectStatus, utcnow
from ..state.queries import active_approvals, get_dataset, get_project
from .base import OperatorContext
from .names import check_name


def read_checksums_file(path: Path) -> dict[str, str]:
    """Read a provider's `sha256sum`-format file: '<hex>  <relative path>' per line."""
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise InvalidInput(f"Cannot read the checksums file {path}: {e.strerror}.") from None
    sums = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        digest, _, name = line.partition(" ")
        name = name.removeprefix(" ").removeprefix("*")  # text mode has two spaces, binary mode ' *'
        if len(digest) != 64 or not name:
            raise InvalidInput(f"{path}:{number} is not '<sha256>  <path>' (sha256sum format).")
        sums[name.removeprefix("./")] = digest.lower()
    return sums


def _compare_with_provider(manifest: Manifest, expected: dict[str, str]) -> list[str]:
    actual = {entry.path: entry.sha256 for entry in manifest.entries}
    problems = [f"{p}: listed by the provider but not in the folder" for p in sorted(expected.keys() - actual)]
    problems += [f"{p}: in the folder but not listed by the provider" for p in sorted(actual.keys() - expected)]
    problems += [f"{p}: checksum differs" for p in sorted(expected.keys() & actual) if expected[p] != actual[p]]
    return problems


@dataclass(frozen=True)
class DataRecord:
    """What a data register holds of a dataset version (its data access agreement's facts)."""

    description: str = ""
    provider: str = ""
    owner_contact: str = ""  # the data owner's contact, e.g. an email address
    received_on: date | None = None
    expires_on: date | None = None  # the agreement's end: no approvals after it
    approved_by: str = ""  # who approved receiving the data (a person, or a committee's reference)

    def check(self) -> None:
        if self.received_on and self.expires_on and self.expires_on <= self.received_on:
            raise InvalidInput(
                f"The agreement cannot end ({self.expires_on}) before the data was received ({self.received_on})."
            )
        for label, value, limit in (
            ("provider", self.provider, 200),
            ("data owner's contact", self.owner_contact, 200),
            ("approved by", self.approved_by, 200),
        ):
            if len(value) > limit:
                raise InvalidInput(f"The {label} is longer than {limit} characters.")


def _write_record(dataset: Dataset, record: DataRecord) -> None:
    record.check()
    for field, value in asdict(record).items():
        setattr(dataset, field, value)


def record_of(dataset: Dataset) -> DataRecord:
    return DataRecord(
        description=dataset.description or "",
        provider=dataset.provider or "",
        owner_contact=dataset.owner_contact or "",
        received_on=dataset.received_on,
        expires_on=dataset.expires_on,
        approved_by=dataset.approved_by or "",
    )


def _audit_record(record: DataRecord) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(record).items()}


def update_record(ctx: OperatorContext, name: str, version: str, **changes) -> Dataset:
    """Change the data register's record of a dataset version (e.g. an agreement extended); audited."""

    def change(session):
        dataset = get_dataset(session, name, version)
        updated = DataRecord(**{**asdict(record_of(dataset)), **changes})
        _write_record(dataset, updated)
        return dataset

    return ctx.audited(
        "dataset.record",
        f"{name}@{version}",
        change,
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in changes.items()},
    )


def register_dataset(
    ctx: OperatorContext,
    name: str,
    version: str,
    folder: Path,
    checksums_file: Path | None = None,
    identifier_column: str = "participant_id",
    record: DataRecord = DataRecord(),
) -> Dataset:
    folder = Path(folder).absolute()

    def change(session):
        check_name("dataset", name)
        check_name("version", version)
        if session.execute(
            select(Dataset).where(Dataset.name == name, Dataset.version == version)
        ).scalar_one_or_none():
            raise AlreadyExists(f"{name}@{version} is registered already; register changed data as a new version.")
        try:
            manifest = compute_manifest(folder)
        except ManifestError as e:
            raise InvalidInput(str(e)) from None
        if checksums_file is not None:
            problems = _compare_with_provider(manifest, read_checksums_file(Path(checksums_file)))
            if problems:
                raise DatasetIntegrityError(
                    f"{folder} does not match the provider's checksums ({len(problems)} problems: "
                    + "; ".join(problems[:5])
                    + "). Fetch the data again; nothing was registered."
                )
        dataset = Dataset(
            name=name,
            version=version,
            path=str(folder),
            manifest_json=manifest.to_json(),
            manifest_digest=manifest.digest,
            file_count=manifest.file_count,
            total_bytes=manifest.total_bytes,
            identifier_column=identifier_column,
        )
        _write_record(dataset, record)
        session.add(dataset)
        return dataset

    return ctx.audited(
        "dataset.register", f"{name}@{version}", change, {"folder": str(folder), "record": _audit_record(record)}
    )


def list_datasets(ctx: OperatorContext) -> list[Dataset]:
    with ctx.db.transaction() as session:
        return list(session.execute(select(Dataset).order_by(Dataset.name, Dataset.version)).scalars())


def check_dataset_integrity(dataset: Dataset) -> None:
    """Raise unless the dataset's folder still matches the manifest taken at registration."""
    try:
        mismatches = verify_manifest(Path(dataset.path), Manifest.from_json(dataset.manifest_json))
    except ManifestError as e:
        raise DatasetIntegrityError(f"{dataset.label}: {e}") from None
    if mismatches:
        shown = "; ".join(m.message for m in mismatches[:5])
        raise DatasetIntegrityError(
            f"{dataset.label} no longer matches its manifest ({len(mismatches)} problems: {shown}). "
            "Investigate before use; register intended changes as a new version."
        )


def check_extracts_integrity(ctx: OperatorContext, name: str, version: str) -> int:
    """Re-hash every current project extract of the dataset against the manifest taken when it was written.

    Returns how many extracts were checked; raises DatasetIntegrityError naming each project and file
    that differs (every extract is checked before raising, so one report lists all problems).
    """
    with ctx.db.reading() as session:
        dataset = get_dataset(session, name, version)
        extracts = [
            (e.project.name, Path(e.path), e.manifest_json)
            for e in session.execute(
                select(DatasetExtract)
                .where(DatasetExtract.dataset_id == dataset.id, DatasetExtract.removed_at.is_(None))
                .order_by(DatasetExtract.id)
            ).scalars()
        ]
        label = dataset.label
    problems = []
    for project, folder, manifest_json in extracts:
        try:
            mismatches = verify_manifest(folder, Manifest.from_json(manifest_json))
        except ManifestError as e:
            problems.append(f"project {project}: {folder}: {e}")
            continue
        problems += [f"project {project}: {m.message} (in {folder})" for m in mismatches]
    if problems:
        raise DatasetIntegrityError(
            f"The extracts of {label} no longer match their manifests ({len(problems)} problems: "
            + "; ".join(problems[:10])
            + "). Investigate; revoke and approve again to rewrite an extract."
        )
    return len(extracts)


def approve_dataset(
    ctx: OperatorContext, project: str, name: str, version: str, fields: list[str] | None = None
) -> DatasetApproval:
    """Approve a dataset for a project and write the project's extract of it.

    `fields` restricts the extract to those columns (the identifier column is
    always kept, as pseudonyms); None means every column. An unknown field
    refuses the approval and writes nothing.
    """
    fields = None if fields is None else list(dict.fromkeys(fields))

    def change(session):
        p = get_project(session, project)
        if p.status is ProjectStatus.ARCHIVED:
            raise InvalidState(f"Project {project!r} is archived.")
        dataset = get_dataset(session, name, version)
        if dataset.expires_on is not None and dataset.expires_on < utcnow().date():
            raise InvalidState(
                f"{dataset.label}'s agreement ended on {dataset.expires_on}: it cannot be approved "
                "for projects. Record a new end date if it was extended ('enclave dataset record')."
            )
        if any(a.dataset_id == dataset.id for a in active_approvals(session, p)):
            raise AlreadyExists(f"{dataset.label} is already approved for {project!r}.")
        check_dataset_integrity(dataset)
        approval = DatasetApproval(project=p, dataset=dataset, approved_by=ctx.actor)
        session.add(approval)
        extract = create_extract(session, ctx.settings, approval, fields)
        write_extract_sketches(Path(extract.path))  # for the airlock's row-level check, beside the extract
        return approval

    return ctx.audited("dataset.approve", f"{project}:{name}@{version}", change, {"fields": fields})


def revoke_dataset(ctx: OperatorContext, project: str, name: str, version: str) -> list[str]:
    """End an approval, stop the project's workspaces (their mounts still carry the data) and delete the
    project's extract. Its record and pseudonym list stay, so earlier leaks can still be traced."""

    def change(session):
        p = get_project(session, project)
        dataset = get_dataset(session, name, version)
        approvals = [a for a in active_approvals(session, p) if a.dataset_id == dataset.id]
        if not approvals:
            raise NotFound(f"{dataset.label} is not approved for {project!r}.")
        approvals[0].revoked_at = utcnow()
        return retire_extract(session, approvals[0])

    folder = ctx.audited("dataset.revoke", f"{project}:{name}@{version}", change)
    stopped = ctx.workspaces.stop(project)
    if folder is not None:
        remove_tree(folder)
        remove_extract_sketches(folder)
    return stopped
