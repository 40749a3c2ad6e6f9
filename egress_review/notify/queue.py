"""The notification outbox: a notice is queued in the transaction that records its decision.

So a decision and its notices commit together or not at all, and sending (by the dispatcher, in
the background) can neither lose nor block the decision. One row per channel, so a mail server
that is down delays only the mails.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..domain.events import AuditEvent
from ..storage.models import QueuedNotification, Request, utcnow
from .wording import WORDING

CHANNELS = ("email", "webhook")
PENDING, SENT, FAILED, SKIPPED, OFF = "pending", "sent", "failed", "skipped", "off"


def queue(session: Session, req: Request, event: AuditEvent) -> None:
    """Queue the notices of ``event`` on ``req`` (nothing for an event that is not told)."""
    if event not in WORDING:
        return
    now = utcnow()
    for channel in CHANNELS:
        session.add(
            QueuedNotification(
                event=event.value,
                request_id=req.id,
                project=req.project,
                author=req.author,
                channel=channel,
                created_at=now,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
            )
        )
    session.flush()
