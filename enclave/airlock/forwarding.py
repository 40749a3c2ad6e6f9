"""The airlock's audit entries in the enclave's log: one log for everything.

Each airlock entry becomes one enclave event, in the airlock's order and
exactly once: action `egress.<airlock event>` (`egress.request.submitted`,
`egress.file.downloaded`, ...), the airlock's actor and outcome, target
`<project>:request/<id>`, and details carrying `source: egress-review`, the
airlock entry's id, time, hashes and its own details, so its hash can be
recomputed from the copy. The high-water mark is the newest forwarded event,
read under the log's write lock, so two forwarders never add an entry twice.

An entry that does not continue the airlock's chain (edited, or the chain
cut) is not forwarded: forwarding stops there and `enclave audit verify`
names it.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session
from traitlets.config import Configurable

from egress_review.integration import AuditReader, ForwardedEntry

from ..settings import EnclaveSettings
from ..state import audit
from ..state.audit_chain import GENESIS
from ..state.db import open_state_db
from ..state.models import AuditEvent
from .service import airlock_data_dir

log = logging.getLogger("enclave.audit")

SOURCE = "egress-review"
PREFIX = "egress."


def is_forwarded(event: AuditEvent) -> bool:
    return isinstance(event.details, dict) and event.details.get("source") == SOURCE


def forwarded_entry_hash(event: AuditEvent) -> str:
    """The airlock entry's hash recomputed from its copy in the enclave's log."""
    d = event.details
    copy = ForwardedEntry(
        id=d.get("airlock_id"),
        at=d.get("airlock_at", ""),
        actor=event.actor,
        event=event.action.removeprefix(PREFIX),
        outcome=event.outcome,
        request_id=d.get("request_id"),
        details=d.get("details", {}),
        prev_hash=d.get("airlock_prev_hash", ""),
        entry_hash=d.get("airlock_entry_hash", ""),
    )
    return copy.computed_hash()


def _high_water(session: Session, from_seq: int = 0) -> tuple[int, str, int]:
    """(airlock id, airlock entry hash, enclave seq) of the newest forwarded entry; (0, genesis, 0) if none.

    `from_seq`: a seq known to hold a forwarded entry, so only the log's tail is read.
    """
    egress = AuditEvent.action.startswith(PREFIX, autoescape=True)
    for lower in dict.fromkeys((from_seq, 0)):  # the tail first; the whole log if the mark is gone
        newest = session.execute(
            select(AuditEvent).where(egress, AuditEvent.seq >= lower).order_by(AuditEvent.seq.desc())
        ).scalars()
        for event in newest:
            if is_forwarded(event):
                return int(event.details["airlock_id"]), str(event.details["airlock_entry_hash"]), event.seq
    return 0, GENESIS, 0


def _target(entry: ForwardedEntry) -> str:
    if entry.request_id is None:
        return ""
    request = f"request/{entry.request_id}"
    return f"{entry.project}:{request}" if entry.project else request


def _details(entry: ForwardedEntry) -> dict:
    return {
        "source": SOURCE,
        "airlock_id": entry.id,
        "airlock_at": entry.at,
        "airlock_prev_hash": entry.prev_hash,
        "airlock_entry_hash": entry.entry_hash,
        "request_id": entry.request_id,
        "project": entry.project,
        "details": entry.details,
    }


def _breaks_chain(entry: ForwardedEntry, prev_hash: str) -> str | None:
    """Why this entry may not be forwarded after the one whose hash is `prev_hash`, or None."""
    if entry.computed_hash() != entry.entry_hash:
        return "its content does not match its hash (edited)"
    if entry.prev_hash != prev_hash:
        return "it does not follow the last forwarded entry (entries deleted, inserted or reordered)"
    return None


class EnclaveAuditSink(Configurable):
    """Receives the airlock's audit entries into the enclave's log (an egress_review.integration.AuditSink)."""

    def __init__(self, settings: EnclaveSettings | None = None, **kwargs):
        super().__init__(**kwargs)
        self.settings = settings or EnclaveSettings(parent=self)
        self.refused: str | None = None  # why forwarding stopped short the last time, if it did
        self._mark = 0  # seq of the newest forwarded entry seen: the high-water search starts there

    def _db(self):
        return open_state_db(self.settings.database_url)

    def forwarded_up_to(self) -> int:
        with self._db().reading() as session:
            airlock_id, _, self._mark = _high_water(session, self._mark)
            return airlock_id

    def accept(self, entries: list[dict]) -> int:
        added, self.refused = 0, None
        with self._db().transaction() as session:
            audit.lock_log(session)
            last_id, last_hash, self._mark = _high_water(session, self._mark)
            for entry in map(ForwardedEntry.from_dict, entries):
                if entry.id <= last_id:
                    continue  # already forwarded (by another process, or an earlier pass)
                reason = _breaks_chain(entry, last_hash)
                if reason:
                    self.refused = f"airlock entry {entry.id} was not forwarded: {reason}"
                    log.error("%s; run 'enclave audit verify'", self.refused)
                    break
                event = audit.record(
                    session,
                    actor=entry.actor,
                    action=PREFIX + entry.event,
                    target=_target(entry),
                    outcome=entry.outcome,
                    details=_details(entry),
                )
                last_id, last_hash = entry.id, entry.entry_hash
                added += 1
                mark = event.seq
        if added:
            self._mark = mark
        return added


def airlock_audit(settings: EnclaveSettings) -> AuditReader | None:
    """The airlock's audit log as the hub runs it, read-only, or None when the airlock has never run."""
    return AuditReader.open(airlock_data_dir(settings))


def catch_up(settings: EnclaveSettings) -> tuple[int, str | None]:
    """Forward what the airlock has not forwarded yet: (entries added, why it stopped short or None)."""
    reader = airlock_audit(settings)
    if reader is None:
        return 0, None
    try:
        sink = EnclaveAuditSink(settings)
        return reader.forward_to(sink), sink.refused
    finally:
        reader.close()
