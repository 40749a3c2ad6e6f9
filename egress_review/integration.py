"""The airlock's published surface: everything another program (the enclave) may use, and the contract behind it.

Nothing else in ``egress_review`` is public. A program that runs the airlock for its own users imports this
module only (an import-linter contract in pyproject.toml keeps the enclave so); the airlock in turn never
imports that program: the hub's service definition names the program's implementations of the protocols
below, and the airlock loads them by name when it starts.

What the airlock asks of its host
    ``ProjectDirectory``: who is an active member of which project, its status, how many approvals a
    release needs, where a person's outbox is, the identifiers and cohort tables the checks match against.
    The airlock only reads through it; without one it knows no project (fail closed). The same object
    may also be a ``PeopleDirectory`` (who holds a role, their email address), for notifications; if it
    is not, nobody is mailed and the airlock's audit entry says so.

    ``AuditSink``: a second log that receives each of the airlock's audit entries after it commits, in
    the airlock's order, exactly once. The sink keeps the high-water mark (``forwarded_up_to``) and skips
    what it already holds, so forwarding twice, from two processes or after a crash adds nothing twice.

What the airlock hands its host
    ``ForwardedEntry`` (format version ``FORMAT_VERSION`` = 1), given to ``AuditSink.accept`` as the dict
    of ``ForwardedEntry.to_dict()``: ``format_version``, ``id`` (the airlock's, increasing), ``at`` (ISO
    8601 UTC as hashed), ``actor``, ``event`` (e.g. ``request.submitted``), ``outcome``, ``request_id``
    (or None), ``details`` (a JSON object), ``prev_hash``, ``entry_hash`` and ``project`` (the request's
    project, or None).

    The hash: ``entry_hash`` is the lower-case hex SHA-256 of the canonical JSON (keys sorted, no spaces,
    UTF-8 unescaped) of the object ``{prev_hash, at, actor, event, outcome, request_id, details}``, where
    ``details`` is itself the canonical JSON text of the details object. ``prev_hash`` is the previous
    entry's ``entry_hash``, 64 zeros for the first: the entries form one chain, so a copy can be checked
    against the original without trusting either store.

How the format changes
    A field added that readers may ignore keeps the version. Any other change (a field removed, renamed
    or retyped, or a change to the hash) is a new ``FORMAT_VERSION``; ``ForwardedEntry.from_dict`` refuses
    a version it does not know, so an old reader stops (and the airlock keeps the entries to forward
    later) rather than misreading. A dict without ``format_version`` is version 1 (written before the
    field existed).

What else is here
    ``hub_service_definition`` and ``CUSTOM_SCOPES``: what a JupyterHub configuration needs to run the
    airlock as its managed service. ``AuditReader``: the airlock's audit log, read-only, for a host that
    verifies its copy (``chain``) or catches up forwarding while the airlock is down (``forward_to``).
    ``sketch_folder`` and ``write_sketches``: the sketches of a cohort extract's tables that the row-level
    check matches against, written by the host beside the extract (``<extract>.sketch/``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select

from .checks.cohort_sketch import sketch_folder, write_sketches
from .config import SERVICE_NAME, EgressReview
from .directory import DEFAULT_APPROVALS_REQUIRED, PROJECT_STATUSES, ProjectDirectory
from .domain.permissions import Scope
from .notify.recipients import PeopleDirectory
from .storage.audit import canonical_json, entry_hash
from .storage.db import Database
from .storage.models import AuditEntry, Request

FORMAT_VERSION = 1
BATCH = 500  # entries read per round when forwarding

CUSTOM_SCOPES: dict[str, dict[str, str]] = {
    Scope.REQUEST.value: {"description": "Request the release of result files through the airlock."},
    Scope.REVIEW.value: {"description": "Review airlock requests of other people and vote on them."},
    Scope.OPERATE.value: {"description": "Operate the airlock: revoke releases, override blocking checks."},
}


class AuditSink(Protocol):
    def forwarded_up_to(self) -> int:
        """The id of the newest airlock entry the other log holds (0 if none)."""

    def accept(self, entries: list[dict]) -> int:
        """Add, in order, the entries (``ForwardedEntry.to_dict()``) it does not hold yet; how many."""


@dataclass(frozen=True)
class ForwardedEntry:
    """One airlock audit entry as handed to another log (format ``FORMAT_VERSION``, see the module docstring)."""

    id: int
    at: str
    actor: str
    event: str
    outcome: str
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str
    project: str | None = None
    format_version: int = FORMAT_VERSION

    @classmethod
    def from_dict(cls, data: dict) -> ForwardedEntry:
        version = data.get("format_version", 1)
        if version != FORMAT_VERSION:
            raise ValueError(
                f"forwarded audit entry format {version!r} is unknown here (this reader knows {FORMAT_VERSION})"
            )
        fields = cls.__dataclass_fields__
        return cls(**{name: value for name, value in data.items() if name in fields})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def computed_hash(self) -> str:
        """The hash of this entry's content, to compare with ``entry_hash``."""
        return entry_hash(
            prev_hash=self.prev_hash,
            at=self.at,
            actor=self.actor,
            event=self.event,
            outcome=self.outcome,
            request_id=self.request_id,
            details=canonical_json(self.details),
        )


@dataclass(frozen=True)
class ChainLink:
    """One entry of the airlock's chain as stored: its hashes, and whether its stored content still gives
    its hash (recomputed from the stored text, so any change to it shows)."""

    id: int
    prev_hash: str
    entry_hash: str
    hash_holds: bool


def _forwarded(entry: AuditEntry, project: str | None) -> ForwardedEntry:
    return ForwardedEntry(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        event=entry.event,
        outcome=entry.outcome,
        request_id=entry.request_id,
        details=json.loads(entry.details),
        prev_hash=entry.prev_hash,
        entry_hash=entry.entry_hash,
        project=project,
    )


def pending_entries(db: Database, after_id: int, limit: int = BATCH) -> list[dict]:
    """Entries newer than ``after_id``, oldest first, as ``ForwardedEntry.to_dict()``."""
    with db.read() as session:
        rows = session.execute(
            select(AuditEntry, Request.project)
            .outerjoin(Request, Request.id == AuditEntry.request_id)
            .where(AuditEntry.id > after_id)
            .order_by(AuditEntry.id)
            .limit(limit)
        ).all()
        return [_forwarded(entry, project).to_dict() for entry, project in rows]


def forward_pending(db: Database, sink: AuditSink) -> int:
    """Hand every entry the sink does not hold yet to it; the number it added."""
    added = 0
    after = sink.forwarded_up_to()
    while True:
        batch = pending_entries(db, after)
        if not batch:
            return added
        added += sink.accept(batch)
        newest = sink.forwarded_up_to()
        if newest < batch[-1]["id"]:
            return added  # the sink stopped short (it logs why); do not spin
        after = newest


class AuditReader:
    """The airlock's audit log, read-only, as the hub's airlock service keeps it in ``data_dir``."""

    def __init__(self, db: Database):
        self._db = db

    @classmethod
    def open(cls, data_dir: str | Path) -> AuditReader | None:
        """The reader of the airlock whose data is in ``data_dir``, or None when it has never run there."""
        url = EgressReview(data_dir=str(data_dir)).db_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            return None
        return cls(Database(url))

    def chain(self) -> list[ChainLink]:
        """Every entry's link in the chain, oldest first."""
        with self._db.read() as session:
            return [
                ChainLink(
                    e.id,
                    e.prev_hash,
                    e.entry_hash,
                    e.entry_hash
                    == entry_hash(
                        prev_hash=e.prev_hash,
                        at=e.at,
                        actor=e.actor,
                        event=e.event,
                        outcome=e.outcome,
                        request_id=e.request_id,
                        details=e.details,
                    ),
                )
                for e in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
            ]

    def forward_to(self, sink: AuditSink) -> int:
        """Hand the sink every entry it does not hold yet; the number it added."""
        return forward_pending(self._db, sink)

    def close(self) -> None:
        self._db.dispose()


def hub_service_definition(
    port: int,
    *,
    name: str = SERVICE_NAME,
    host: str = "127.0.0.1",
    python: str | None = None,
    data_dir: str | None = None,
    config_file: str | None = None,
    environment: dict[str, str] | None = None,
    managed: bool = True,
    project_directory: str | None = None,
    audit_sink: str | None = None,
) -> dict:
    """The ``c.JupyterHub.services`` entry for the airlock.

    ``project_directory`` and ``audit_sink`` name (``module.Class``) the host's implementations of
    ``ProjectDirectory`` and ``AuditSink``; the airlock loads them when it starts (traitlets Configurables
    get the airlock application as their parent).

    The service gets no ``roles``: its own hub token can identify users who log in to it and nothing
    else; in particular it has no access to analysts' servers. Tokens issued to browsers for this service
    carry only the egress custom scopes (``oauth_client_allowed_scopes``), which the service checks itself.
    """
    if not (0 < port < 65536):
        raise ValueError(f"port must be 1-65535, not {port}")
    definition: dict = {
        "name": name,
        "url": f"http://{host}:{port}",
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": sorted(CUSTOM_SCOPES),
        "display": True,
        "info": {"description": "The airlock: request, review and download result files."},
    }
    if managed:
        command = [python or sys.executable, "-m", "egress_review"]
        if config_file:
            command += ["--config", config_file]
        if project_directory:
            command.append(f"--EgressReview.project_directory_class={project_directory}")
        if audit_sink:
            command.append(f"--EgressReview.audit_sink_class={audit_sink}")
        definition["command"] = command
        env = dict(environment or {})
        if data_dir:
            env["EGRESS_REVIEW_DATA_DIR"] = data_dir
        if env:
            definition["environment"] = env
    return definition


__all__ = [
    "CUSTOM_SCOPES",
    "DEFAULT_APPROVALS_REQUIRED",
    "FORMAT_VERSION",
    "PROJECT_STATUSES",
    "SERVICE_NAME",
    "AuditReader",
    "AuditSink",
    "ChainLink",
    "ForwardedEntry",
    "PeopleDirectory",
    "ProjectDirectory",
    "canonical_json",
    "entry_hash",
    "forward_pending",
    "hub_service_definition",
    "pending_entries",
    "sketch_folder",
    "write_sketches",
]
