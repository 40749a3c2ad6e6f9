"""Forwarding the airlock's audit entries to another log, in order, exactly once.

The airlock's entry commits with its state change in the airlock's own
database: that table is the outbox. Right after each commit that appended
entries, everything not yet forwarded is handed to the sink (best effort: a
failure is logged and the next commit, or start-up, catches up). The sink
keeps the high-water mark and skips what it already has, so forwarding twice,
from two processes, or after a crash, adds nothing twice.

The sink and the entries' format are the published contract
(``egress_review.integration``: ``AuditSink``, ``ForwardedEntry``); the
hub's service definition names the host's sink. Run alone, the airlock has no
sink and keeps its own log only.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..integration import AuditSink, forward_pending
from .audit import APPENDED
from .db import Database

log = logging.getLogger("egress_review")


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
