"""SQLAlchemy models of the airlock.

Mutable while a request is being edited: ``requests``, ``file_groups``,
``request_files``. Everything that records a fact is immutable once written
(database triggers refuse UPDATE and DELETE, see ``IMMUTABLE_TABLES``):
staged files, check results, votes, comments, block overrides, releases and
the audit log.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    pass


class Request(Base):
    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project: Mapped[str] = mapped_column(String(200), index=True)
    author: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(32), index=True)
    round: Mapped[int] = mapped_column(Integer, default=0)  # incremented on each (re)submission
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    groups: Mapped[list[FileGroup]] = relationship(
        back_populates="request", order_by="FileGroup.id", cascade="all, delete-orphan"
    )
    files: Mapped[list[RequestFile]] = relationship(
        back_populates="request", order_by="RequestFile.id", cascade="all, delete-orphan"
    )


class FileGroup(Base):
    __tablename__ = "file_groups"
    __table_args__ = (UniqueConstraint("request_id", "name", name="uq_file_groups_request_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    context: Mapped[str] = mapped_column(Text, default="")  # what the outputs are
    controls: Mapped[str] = mapped_column(Text, default="")  # disclosure controls applied

    request: Mapped[Request] = relationship(back_populates="groups")


class RequestFile(Base):
    """A file the analyst put in a request: a path in their outbox (not yet bytes)."""

    __tablename__ = "request_files"
    __table_args__ = (UniqueConstraint("request_id", "path", name="uq_request_files_request_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("file_groups.id"), index=True)
    path: Mapped[str] = mapped_column(String(1024))  # relative to the analyst's outbox
    comment: Mapped[str] = mapped_column(Text, default="")  # the analyst's note on this file
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    request: Mapped[Request] = relationship(back_populates="files")
    group: Mapped[FileGroup] = relationship()


class StagedFile(Base):
    """The exact bytes of one file in one submission round (immutable)."""

    __tablename__ = "staged_files"
    __table_args__ = (UniqueConstraint("request_id", "round", "path", name="uq_staged_files_request_round_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    group_name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(1024))
    comment: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    staged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    checks: Mapped[list[CheckRecord]] = relationship(order_by="CheckRecord.position")
    overrides: Mapped[list[BlockOverride]] = relationship(order_by="BlockOverride.id")


class CheckRecord(Base):
    """One CheckResult, stored verbatim as ``CheckResult.to_record()`` JSON."""

    __tablename__ = "check_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staged_file_id: Mapped[int] = mapped_column(ForeignKey("staged_files.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    verdict: Mapped[str] = mapped_column(String(16))
    record: Mapped[str] = mapped_column(Text)


class BlockOverride(Base):
    __tablename__ = "block_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staged_file_id: Mapped[int] = mapped_column(ForeignKey("staged_files.id"), index=True)
    operator: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("request_id", "round", "reviewer", name="uq_votes_request_round_reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class FileDecision(Base):
    """One reviewer's decision on one staged file of one round (immutable). A reviewer's review of a
    round is complete once every file of the round has their decision; a ``Vote`` then records it."""

    __tablename__ = "file_decisions"
    __table_args__ = (UniqueConstraint("staged_file_id", "reviewer", name="uq_file_decisions_file_reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    staged_file_id: Mapped[int] = mapped_column(ForeignKey("staged_files.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    staged_file_id: Mapped[int | None] = mapped_column(ForeignKey("staged_files.id"), nullable=True)
    author: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Release(Base):
    """The release manifest of a request (JSON), kept with the request."""

    __tablename__ = "releases"

    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer)
    manifest: Mapped[str] = mapped_column(Text)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Revocation(Base):
    __tablename__ = "revocations"

    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), primary_key=True)
    operator: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Append-only, hash-chained audit log (triggers refuse UPDATE/DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_request_id", "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, hashed as written
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    details: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


#: Tables whose rows are facts: triggers refuse UPDATE and DELETE on them.
IMMUTABLE_TABLES = (
    "staged_files",
    "check_results",
    "block_overrides",
    "votes",
    "file_decisions",
    "comments",
    "releases",
    "revocations",
    "audit_log",
)


class QueuedNotification(Base):
    """One notice to send on one channel (egress_review.notify): written in the transaction of the
    decision it tells of, then sent, retried with backoff, by the dispatcher. Mutable: its status moves on."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(64))  # the audit event it tells of (request.submitted, ...)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"))
    project: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(200))  # the request's author: recipient, or left out
    channel: Mapped[str] = mapped_column(String(16))  # "email" | "webhook"
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # "pending" | "sent" | "failed" | "skipped" | "off"
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
