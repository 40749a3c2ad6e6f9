"""What a notification says: fixed wording per event, the request's id, project, time and a link.

Nothing an analyst wrote (titles, contexts, comments, reasons), no file name or content and no
participant identifier ever goes into a notice: the fields below are all it is made of, so a mail
or a chat message that leaves the enclave carries nothing that needs review. The reader follows the
link and logs in to see more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..domain.events import AuditEvent

REVIEWERS, AUTHOR, OPERATORS = "reviewers", "author", "operators"


@dataclass(frozen=True)
class Wording:
    audience: str  # who hears of it: REVIEWERS (every reviewer but the author), AUTHOR or OPERATORS
    headline: str  # fixed text, the same for every request


#: The events that are told, to whom, in which words. Any other event is not notified.
WORDING: dict[AuditEvent, Wording] = {
    AuditEvent.REQUEST_SUBMITTED: Wording(REVIEWERS, "A release request is waiting for review"),
    AuditEvent.REQUEST_RESUBMITTED: Wording(REVIEWERS, "A release request was resubmitted and is waiting for review"),
    AuditEvent.REQUEST_CHANGES_REQUESTED: Wording(AUTHOR, "Reviewers asked for changes to your release request"),
    AuditEvent.REQUEST_REJECTED: Wording(AUTHOR, "Your release request was rejected"),
    AuditEvent.REQUEST_RELEASED: Wording(AUTHOR, "Your release request was released: its files can be downloaded"),
    AuditEvent.BLOCK_OVERRIDDEN: Wording(OPERATORS, "An operator overrode an automatic check's block"),
}


@dataclass(frozen=True)
class Notice:
    """One notice, as sent on every channel."""

    event: str
    request_id: str
    project: str
    at: dt.datetime
    link: str

    @property
    def wording(self) -> Wording:
        return WORDING[AuditEvent(self.event)]

    @property
    def subject(self) -> str:
        return f"[airlock] {self.wording.headline} ({self.project}, request {self.request_id})"

    @property
    def text(self) -> str:
        return (
            f"{self.wording.headline}.\n\n"
            f"Request: {self.request_id}\n"
            f"Project: {self.project}\n"
            f"Time: {self.at.astimezone(dt.UTC).isoformat(timespec='seconds')}\n\n"
            f"Open it (log in to the enclave first): {self.link}\n"
        )

    def payload(self) -> dict:
        """The webhook's JSON body; ``text`` is what chat tools (Slack, Mattermost, Teams) display."""
        return {
            "event": self.event,
            "request_id": self.request_id,
            "project": self.project,
            "at": self.at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "link": self.link,
            "text": f"{self.wording.headline} ({self.project}, request {self.request_id}): {self.link}",
        }
