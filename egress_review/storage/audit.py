"""The audit log: append-only (database triggers) and hash-chained.

Each entry's ``entry_hash`` is SHA-256 over its own fields and the previous
entry's hash, so an entry changed or removed behind the triggers' back (for
example by someone who dropped them) breaks the chain, and ``verify_chain``
says where. Entries are appended inside the caller's transaction, so an
audit entry exists exactly when the change it records was committed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.events import AuditEvent, Outcome
from .models import AuditEntry, utcnow

GENESIS_HASH = "0" * 64
APPENDED = "egress_review_audit_appended"  # session.info key


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    *, prev_hash: str, at: str, actor: str, event: str, outcome: str, request_id: str | None, details: str
) -> str:
    payload = canonical_json(
        {
            "prev_hash": prev_hash,
            "at": at,
            "actor": actor,
            "event": event,
            "outcome": outcome,
            "request_id": request_id,
            "details": details,
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    event: AuditEvent,
    request_id: str | None = None,
    outcome: Outcome = Outcome.OK,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to the chain in the caller's (write) transaction."""
    prev = session.execute(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    prev_hash = prev or GENESIS_HASH
    at = utcnow().isoformat(timespec="microseconds")
    details_json = canonical_json(details or {})
    entry = AuditEntry(
        at=at,
        actor=actor,
        event=event.value,
        outcome=outcome.value,
        request_id=request_id,
        details=details_json,
        prev_hash=prev_hash,
        entry_hash=entry_hash(
            prev_hash=prev_hash,
            at=at,
            actor=actor,
            event=event.value,
            outcome=outcome.value,
            request_id=request_id,
            details=details_json,
        ),
    )
    session.add(entry)
    session.flush()
    session.info[APPENDED] = True  # forwarding (storage/forwarding.py) looks at this after the commit
    return entry


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int
    problem: str


def verify_chain(session: Session) -> list[ChainProblem]:
    """Every break in the chain, oldest first; empty when the log is intact."""
    problems: list[ChainProblem] = []
    expected_prev = GENESIS_HASH
    for entry in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        if entry.prev_hash != expected_prev:
            problems.append(ChainProblem(entry.id, "previous hash does not match the entry before it"))
        recomputed = entry_hash(
            prev_hash=entry.prev_hash,
            at=entry.at,
            actor=entry.actor,
            event=entry.event,
            outcome=entry.outcome,
            request_id=entry.request_id,
            details=entry.details,
        )
        if recomputed != entry.entry_hash:
            problems.append(ChainProblem(entry.id, "entry was changed after it was written"))
        expected_prev = entry.entry_hash
    return problems


def entry_to_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "event": entry.event,
        "outcome": entry.outcome,
        "request_id": entry.request_id,
        "details": json.loads(entry.details),
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }
