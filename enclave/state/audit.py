"""Writing and verifying the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEvent

GENESIS = "0" * 64


def _canonical(seq: int, at: str, actor: str, action: str, target: str, outcome: str, details: dict) -> str:
    return json.dumps(
        {"seq": seq, "at": at, "actor": actor, "action": action, "target": target, "outcome": outcome,
         "details": details},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def entry_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (so it commits with the change)."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appenders so two never chain onto the same previous entry.
        session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    last = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.entry_hash
    at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    details = json.loads(json.dumps(details or {}, default=str))  # plain JSON types only
    canonical = _canonical(seq, at, actor, action, target, outcome, details)
    event = AuditEvent(
        seq=seq, at=at, actor=actor, action=action, target=target, outcome=outcome, details=details,
        prev_hash=prev, entry_hash=entry_hash(prev, canonical),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    message: str


def verify_chain(session: Session) -> list[ChainProblem]:
    """Recompute the chain; report every entry that was edited, inserted, reordered or deleted."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    expected_seq = 1
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars():
        if event.seq != expected_seq:
            problems.append(ChainProblem(event.seq, f"entries {expected_seq}..{event.seq - 1} are missing"))
        if event.prev_hash != prev:
            problems.append(ChainProblem(event.seq, "does not follow the entry before it (inserted, reordered or "
                                                    "the previous entry was deleted)"))
        canonical = _canonical(event.seq, event.at, event.actor, event.action, event.target, event.outcome,
                               event.details)
        if entry_hash(event.prev_hash, canonical) != event.entry_hash:
            problems.append(ChainProblem(event.seq, "content was changed after it was written"))
        prev = event.entry_hash
        expected_seq = event.seq + 1
    return problems
