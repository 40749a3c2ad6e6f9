"""The enclave's state: projects, people, datasets, approvals and the audit log."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ProjectStatus(str, enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # workspaces stopped, spawns refused; reversible
    ARCHIVED = "archived"  # closed for good; kept for the record


class Role(str, enum.Enum):
    ANALYST = "analyst"
    REVIEWER = "reviewer"
    OPERATOR = "operator"


class AccountStatus(str, enum.Enum):
    ACTIVE = "active"
    DISABLED = "disabled"
    SUSPENDED = "suspended"  # held pending an operator's decision (e.g. egress budget exceeded); reversible


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[ProjectStatus] = mapped_column(
        Enum(ProjectStatus, native_enum=False, length=16), default=ProjectStatus.ACTIVE
    )
    image: Mapped[str] = mapped_column(String(40), default="workspace")
    # Per-project resource overrides; None means the installation default.
    mem_limit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    cpu_limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    pids_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Seconds without activity before the idle culler stops a workspace; None: the installation default.
    idle_timeout: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approvals_required: Mapped[int] = mapped_column(Integer, default=2)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="project")
    approvals: Mapped[list[DatasetApproval]] = relationship(back_populates="project")


class User(Base):
    __tablename__ = "enclave_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[AccountStatus] = mapped_column(
        Enum(AccountStatus, native_enum=False, length=16), default=AccountStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    roles: Mapped[list[RoleGrant]] = relationship(back_populates="user", cascade="all, delete-orphan")
    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    @property
    def role_names(self) -> list[str]:
        return sorted(grant.role.value for grant in self.roles)


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("enclave_users.id"))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))

    user: Mapped[User] = relationship(back_populates="roles")


class Membership(Base):
    """A person's access to a project. Removal ends it; the row stays for the record."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("enclave_users.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    project: Mapped[Project] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")

    @property
    def active(self) -> bool:
        return self.removed_at is None


class Dataset(Base):
    """A registered, immutable version of a dataset with its checksum manifest."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    manifest_json: Mapped[str] = mapped_column(Text)
    manifest_digest: Mapped[str] = mapped_column(String(64))
    file_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    identifier_column: Mapped[str] = mapped_column(String(64), default="participant_id")
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The data register's record (what a data access agreement says of this version); "" / None: not recorded.
    description: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str] = mapped_column(String(200), default="")
    owner_contact: Mapped[str] = mapped_column(String(200), default="")  # the data owner's contact
    received_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # the agreement's end: no approvals after
    approved_by: Mapped[str] = mapped_column(String(200), default="")  # who approved receiving it (e.g. a DAC)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


class DatasetApproval(Base):
    """A dataset approved for a project. Revocation ends it; the row stays."""

    __tablename__ = "dataset_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    approved_by: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    project: Mapped[Project] = relationship(back_populates="approvals")
    dataset: Mapped[Dataset] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(Base):
    """One entry of the append-only, hash-chained audit log.

    Database triggers refuse UPDATE and DELETE on this table (see db.py), and
    each entry's hash covers the previous entry's hash, so an edited, inserted,
    reordered or deleted entry breaks the chain (see audit.verify_chain).
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # ISO-8601 UTC text, so the hashed value reads back byte-identical on every database.
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256), default="")
    outcome: Mapped[str] = mapped_column(String(16))  # "ok" | "refused" | "error"
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class DatasetExtract(Base):
    """A project's extract of an approved dataset: approved fields, pseudonyms and canaries.

    Workspaces mount `path`; `lookup_path` lists the pseudonyms (with the
    canaries) for tracing and is never mounted. Revocation sets `removed_at`
    and deletes the folder; the row and the lookup stay, so leaks made
    before revocation can still be traced.
    """

    __tablename__ = "dataset_extracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("dataset_approvals.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    fields: Mapped[list | None] = mapped_column(JSON, nullable=True)  # None: every field
    path: Mapped[str] = mapped_column(Text)
    lookup_path: Mapped[str] = mapped_column(Text)
    manifest_json: Mapped[str] = mapped_column(Text)
    manifest_digest: Mapped[str] = mapped_column(String(64))
    participants: Mapped[int] = mapped_column(Integer)
    canaries: Mapped[list] = mapped_column(JSON)  # canary pseudonyms, as text
    # The information its files hold (compressed size, enclave.extracts.information); sizes the project's budgets.
    information_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    approval: Mapped[DatasetApproval] = relationship()
    project: Mapped[Project] = relationship()
    dataset: Mapped[Dataset] = relationship()


class EgressUsage(Base):
    """Bytes of data-bearing traffic sent to one person's browser from one project, per UTC day and channel.

    Counters only grow, by `bytes = bytes + n` in SQL, so several edge processes
    and restarts neither lose nor double-count (see enclave.metering.ledger).
    Names, not ids: the edge meters what the URL names, and the record outlives accounts.
    """

    __tablename__ = "egress_usage"
    __table_args__ = (UniqueConstraint("day", "user", "project", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, UTC
    user: Mapped[str] = mapped_column(String(40))
    project: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # counted: the information (metering/information.py)
    raw_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # as sent on the wire


class EgressBudget(Base):
    """A project's own metering settings; None in a column: derived from its extracts (egress/budgets.py)."""

    __tablename__ = "egress_budgets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    daily_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # per person per UTC day
    project_daily_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # all members together
    days_to_extract: Mapped[float | None] = mapped_column(Float, nullable=True)  # the target budgets derive from

    project: Mapped[Project] = relationship()


class EgressMark(Base):
    """A budget threshold already acted on ("alert" at 50%, "exceeded" at 100%), so each is raised once.

    The budget is part of the key: after an operator raises a budget, crossing
    the new one is a new event.
    """

    __tablename__ = "egress_marks"
    __table_args__ = (UniqueConstraint("day", "user", "project", "kind", "budget"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    user: Mapped[str] = mapped_column(String(40))
    project: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    budget: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AllowedPackage(Base):
    """A Python package an operator allowed, with the version fetched: for every project, or for one.

    Its files (the package's wheel and those of its dependencies) are `PackageFile` rows and are
    published in the scope's folder, which that scope's package indexes serve (enclave/packages/).
    """

    __tablename__ = "allowed_packages"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True)  # None: all projects
    name: Mapped[str] = mapped_column(String(100))  # PEP 503 normalised
    version: Mapped[str] = mapped_column(String(64))
    requested: Mapped[str] = mapped_column(String(200))  # as the operator wrote it, e.g. "tabulate==0.9.0"
    source: Mapped[str] = mapped_column(Text)  # the host's index, or the folder of wheels it came from
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    project: Mapped[Project | None] = relationship()
    files: Mapped[list[PackageFile]] = relationship(back_populates="package", cascade="all, delete-orphan")


class PackageFile(Base):
    """One file an allowed package brought (its own wheel or a dependency's), with its SHA-256.

    A file name has one hash for good: a later fetch that gives the same name other bytes is refused.
    """

    __tablename__ = "package_files"
    __table_args__ = (UniqueConstraint("package_id", "filename"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("allowed_packages.id"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)

    package: Mapped[AllowedPackage] = relationship(back_populates="files")
