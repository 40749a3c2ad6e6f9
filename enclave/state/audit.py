"""Writing and verifying the hash-chained audit log: the one log of the enclave and its airlock.

Every entry's hash covers its seq, its content and the previous entry's
hash. After each commit that appended entries, the newest one is written to
the anchor outside the database (audit_anchor.py), so that cutting off the
newest entries shows too.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sqla_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .audit_anchor import Head, anchor_paths, append_head
from .audit_chain import GENESIS, Link, Problem, classify, missing_keys
from .installation import installation_id
from .models import AuditEvent

log = logging.getLogger("enclave.audit")

_PENDING_HEAD = "enclave_audit_head"  # session.info key: the newest entry this transaction appended
_HOOKED = "enclave_audit_anchor_hooked"
_REORDER_WINDOW = 64  # how far from its place a moved entry is looked for


def _canonical(seq: int, at: str, actor: str, action: str, target: str, outcome: str, details: dict) -> str:
    return json.dumps(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def entry_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def lock_log(session: Session) -> None:
    """Serialise appenders so two never chain onto the same previous entry.

    SQLite writers already hold the database's write lock (BEGIN IMMEDIATE);
    PostgreSQL takes a transaction-scoped advisory lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(727274)"))


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
    lock_log(session)
    last = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.entry_hash
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    details = json.loads(json.dumps(details or {}, default=str))  # plain JSON types only
    canonical = _canonical(seq, at, actor, action, target, outcome, details)
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        details=details,
        prev_hash=prev,
        entry_hash=entry_hash(prev, canonical),
    )
    session.add(event)
    session.flush()
    _anchor_after_commit(session, Head(seq, event.entry_hash, at, installation_id(session, create=True)))
    return event


def _anchor_after_commit(session: Session, head: Head) -> None:
    session.info[_PENDING_HEAD] = head
    if not session.info.get(_HOOKED):
        session.info[_HOOKED] = True
        sqla_event.listen(session, "after_commit", _write_anchor)
        sqla_event.listen(session, "after_rollback", _forget_head)


def _write_anchor(session: Session) -> None:
    head = session.info.pop(_PENDING_HEAD, None)
    if head is None:
        return
    url = session.get_bind().url.render_as_string(hide_password=False)
    try:
        append_head(anchor_paths(url), head)
    except OSError:
        # The entry is committed; `enclave audit verify` will report it as not anchored.
        log.exception("audit entry %d is committed but its anchor could not be written", head.seq)


def _forget_head(session: Session) -> None:
    session.info.pop(_PENDING_HEAD, None)


def _hashes_as(event: AuditEvent, seq: int) -> bool:
    canonical = _canonical(seq, event.at, event.actor, event.action, event.target, event.outcome, event.details)
    return entry_hash(event.prev_hash, canonical) == event.entry_hash


def _link(event: AuditEvent) -> Link:
    if _hashes_as(event, event.seq):
        return Link(event.seq, event.prev_hash, event.entry_hash, True)
    moved_from = next(
        (
            seq
            for distance in range(1, _REORDER_WINDOW + 1)
            for seq in (event.seq - distance, event.seq + distance)
            if seq > 0 and _hashes_as(event, seq)
        ),
        None,
    )
    return Link(event.seq, event.prev_hash, event.entry_hash, False, moved_from)


def verify_chain(session: Session) -> list[Problem]:
    """Recompute the enclave's chain: every entry that was edited, inserted, reordered, or follows a deletion.

    Deletion of the newest entries is the anchor's to see (enclave.airlock.verify.verify_one_log).
    """
    events = list(session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())
    gaps = missing_keys("enclave", [e.seq for e in events])
    gap_keys = {p.key for p in gaps}
    # A gap explains the broken link after it; report it once, with the missing seqs.
    links = classify("enclave", [_link(e) for e in events])
    return sorted(gaps + [p for p in links if not (p.key in gap_keys and p.kind == "deleted")], key=lambda p: p.key)
