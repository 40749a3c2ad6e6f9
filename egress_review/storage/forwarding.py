"""Forwarding the airlock's audit entries to another log, in order, exactly once.

The airlock's entry commits with its state change in the airlock's own
database: that table is the outbox. Right after each commit that appended
entries, everything not yet forwarded is handed to the sink (best effort: a
failure is logged and the next commit, or start-up, catches up). The sink
keeps the high-water mark and skips what it already has, so forwarding twice,
from two processes, or after a crash, adds nothing twice.

The enclave's sink is ``enclave.audit_forwarding.EnclaveAuditSink``; run
alone, the airlock has no sink and keeps its own log only.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .audit import APPENDED, entry_to_dict
from .db import Database
from .models import AuditEntry, Request

log = logging.getLogger("egress_review")

BATCH = 500


class AuditSink(Protocol):
    def forwarded_up_to(self) -> int:
        """The id of the newest airlock entry the other log holds (0 if none)."""

    def accept(self, entries: list[dict]) -> int:
        """Add, in order, the entries (``entry_to_dict`` plus ``project``) it does not hold yet; how many."""


def pending_entries(db: Database, after_id: int, limit: int = BATCH) -> list[dict]:
    """Entries newer than ``after_id``, oldest first, each with its request's project (or None)."""
    with db.read() as session:
        rows = session.execute(
            select(AuditEntry, Request.project)
            .outerjoin(Request, Request.id == AuditEntry.request_id)
            .where(AuditEntry.id > after_id)
            .order_by(AuditEntry.id)
            .limit(limit)
        ).all()
        return [{**entry_to_dict(entry), "project": project} for entry, project in rows]


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


class AuditForwarder:
    """Forwards after each commit of this database that appended audit entries."""

    def __init__(self, db: Database, sink: AuditSink):
        self.db = db
        self.sink = sink
        self._lock = threading.Lock()  # one forwarding pass at a time in this process
        self._url = db.engine.url

    def catch_up(self) -> int:
        with self._lock:
            return forward_pending(self.db, self.sink)

    def start(self) -> int:
        """Catch up (at start-up), then forward after every commit; the number caught up."""
        event.listen(Session, "after_commit", self._after_commit)
        return self.catch_up()

    def stop(self) -> None:
        if event.contains(Session, "after_commit", self._after_commit):
            event.remove(Session, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if not session.info.pop(APPENDED, False) or session.get_bind().url != self._url:
            return
        try:
            self.catch_up()
        except Exception:  # the airlock's own commit stands; start-up or the next commit catches up
            log.exception("could not forward audit entries to the enclave's log; they will be forwarded later")
