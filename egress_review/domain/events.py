"""Names of audit events. Every state transition has one (see transitions.py);
the rest record actions that do not change a request's state."""

from __future__ import annotations

import enum


class AuditEvent(str, enum.Enum):
    # transitions
    REQUEST_SUBMITTED = "request.submitted"
    REQUEST_RESUBMITTED = "request.resubmitted"
    REQUEST_APPROVED = "request.approved"
    REQUEST_CHANGES_REQUESTED = "request.changes_requested"
    REQUEST_REJECTED = "request.rejected"
    REQUEST_RELEASED = "request.released"
    REQUEST_WITHDRAWN = "request.withdrawn"
    REQUEST_REVOKED = "request.revoked"
    # no state change
    REQUEST_CREATED = "request.created"
    GROUP_SAVED = "group.saved"
    FILE_ADDED = "file.added"
    FILE_REMOVED = "file.removed"
    FILE_DECIDED = "file.decided"  # one reviewer's decision on one file
    VOTE_CAST = "vote.cast"  # a reviewer's review of a round is complete (every file decided)
    COMMENT_ADDED = "comment.added"
    BLOCK_OVERRIDDEN = "block.overridden"
    FILE_DOWNLOADED = "file.downloaded"
    CONTENT_OPENED = "content.opened"  # an operator opened staged content, with a reason
    # notifications (egress_review.notify): each send, each failed attempt, each notice nobody could receive
    NOTIFICATION_SENT = "notification.sent"
    NOTIFICATION_FAILED = "notification.failed"
    NOTIFICATION_SKIPPED = "notification.skipped"
    # an action that was refused (outcome "refused"), whatever it was
    ACTION_REFUSED = "action.refused"


class Outcome(str, enum.Enum):
    OK = "ok"
    REFUSED = "refused"
    ERROR = "error"  # something the airlock tried failed (a notification not delivered)
