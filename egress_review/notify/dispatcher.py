"""Draining the notification outbox in the background: send, retry with backoff, audit.

Runs in its own thread of the airlock's process, never on a request's path. Each attempt is
audited in the airlock's log (notification.sent, notification.failed with the next try or that it
gave up, notification.skipped when nobody on the list has an email address), so an operator sees
what reached whom. A notice that keeps failing is given up after ``RetryPolicy.max_attempts``; the
decision it told of was committed long before and is unaffected.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from ..domain.events import AuditEvent, Outcome
from ..storage import audit
from ..storage.db import Database
from ..storage.models import QueuedNotification, utcnow
from .queue import FAILED, OFF, PENDING, SENT, SKIPPED
from .recipients import addressees
from .wording import Notice

log = logging.getLogger("egress_review")

ACTOR = "egress-review"  # the service itself, in the audit log
BATCH = 100


class Sender(Protocol):
    needs_addresses: bool

    def send(self, notice: Notice, addresses: tuple[str, ...]) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    first_delay_seconds: float = 30.0
    max_delay_seconds: float = 3600.0
    max_attempts: int = 12  # about half a day of trying, with the defaults

    def delay(self, attempts: int) -> dt.timedelta:
        """Wait after the ``attempts``-th failure: doubling from the first delay, capped."""
        return dt.timedelta(seconds=min(self.first_delay_seconds * 2 ** (attempts - 1), self.max_delay_seconds))


@dataclass(frozen=True)
class _Due:
    id: int
    event: str
    request_id: str
    project: str
    author: str
    channel: str
    created_at: dt.datetime
    attempts: int


class NotificationDispatcher:
    def __init__(
        self,
        db: Database,
        directory: object,
        senders: dict[str, Sender],
        link_for: Callable[[str], str],
        retry: RetryPolicy | None = None,
        interval_seconds: float = 2.0,
    ):
        self.db = db
        self.directory = directory
        self.senders = senders  # channel name -> sender; a channel without one is off
        self.link_for = link_for
        self.retry = retry or RetryPolicy()
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def drain_once(self) -> int:
        """Try every notice that is due now; the number tried."""
        due = self._due(utcnow())
        for item in due:
            self._deliver(item)
        return len(due)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="egress-review-notify", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain_once()
            except Exception:  # a database hiccup: the notices stay pending and are tried again
                log.exception("could not send notifications; trying again shortly")
            self._stop.wait(self.interval_seconds)

    def _due(self, now: dt.datetime) -> list[_Due]:
        with self.db.read() as session:
            rows = session.execute(
                select(QueuedNotification)
                .where(QueuedNotification.status == PENDING, QueuedNotification.next_attempt_at <= now)
                .order_by(QueuedNotification.id)
                .limit(BATCH)
            ).scalars()
            return [
                _Due(r.id, r.event, r.request_id, r.project, r.author, r.channel, r.created_at, r.attempts)
                for r in rows
            ]

    def _deliver(self, item: _Due) -> None:
        sender = self.senders.get(item.channel)
        if sender is None:
            self._record(item, OFF)  # the operator has not set this channel up: nothing to audit
            return
        notice = Notice(item.event, item.request_id, item.project, item.created_at, self.link_for(item.request_id))
        details = {"channel": item.channel, "notice": item.event, "attempt": item.attempts + 1}
        addresses: tuple[str, ...] = ()
        if sender.needs_addresses:
            to = addressees(self.directory, notice.wording.audience, item.author)
            addresses = to.addresses
            details.update(recipients=list(to.people), without_email=list(to.without_email))
            if not addresses:
                self._record(item, SKIPPED, AuditEvent.NOTIFICATION_SKIPPED, Outcome.OK, details)
                return
        try:
            sender.send(notice, addresses)
        except Exception as exc:
            self._failed(item, exc, details)
            return
        self._record(item, SENT, AuditEvent.NOTIFICATION_SENT, Outcome.OK, details)

    def _failed(self, item: _Due, exc: Exception, details: dict) -> None:
        attempts = item.attempts + 1
        details["error"] = f"{type(exc).__name__}: {exc}"[:300]
        if attempts >= self.retry.max_attempts:
            details["gave_up"] = True
            self._record(item, FAILED, AuditEvent.NOTIFICATION_FAILED, Outcome.ERROR, details)
            return
        retry_at = utcnow() + self.retry.delay(attempts)
        details["retry_at"] = retry_at.isoformat(timespec="seconds")
        self._record(item, PENDING, AuditEvent.NOTIFICATION_FAILED, Outcome.ERROR, details, retry_at)

    def _record(
        self,
        item: _Due,
        status: str,
        event: AuditEvent | None = None,
        outcome: Outcome = Outcome.OK,
        details: dict | None = None,
        retry_at: dt.datetime | None = None,
    ) -> None:
        """The notice's new status and its audit entry, in one transaction."""
        with self.db.write() as session:
            row = session.get(QueuedNotification, item.id)
            row.status = status
            if status in (SENT, FAILED) or retry_at is not None:  # it was tried (not off, not skipped)
                row.attempts = item.attempts + 1
            if retry_at is not None:
                row.next_attempt_at = retry_at
            if event is not None:
                audit.append(
                    session, actor=ACTOR, event=event, request_id=item.request_id, outcome=outcome, details=details
                )
