"""Every error the airlock's domain can raise, in one flat module.

Each exception has a stable machine ``code`` and a message that tells the
person what to do next. Messages never echo secrets (tokens, file contents).
The web layer maps these classes to HTTP status codes in one place
(``egress_review.web.errors``).
"""

from __future__ import annotations


class EgressError(Exception):
    """Base class: ``code`` is stable for machines, ``message`` is for people."""

    code = "egress_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- bad input ---------------------------------------------------------------


class InvalidInput(EgressError):
    code = "invalid_input"


class ReasonRequired(EgressError):
    code = "reason_required"


class TextTooLong(InvalidInput):
    """A typed field over its length cap (the message names the field and the cap)."""

    code = "text_too_long"


class LimitReached(EgressError):
    """Too many requests, groups or comments: the airlock shows them all back, so they are capped."""

    code = "limit_reached"


# --- who may act --------------------------------------------------------------


class NotAuthenticated(EgressError):
    code = "not_authenticated"


class MissingScope(EgressError):
    code = "missing_scope"


class NotProjectMember(EgressError):
    code = "not_project_member"


class ProjectNotActive(EgressError):
    code = "project_not_active"


class NotAuthor(EgressError):
    code = "not_author"


class OwnRequestReview(EgressError):
    code = "own_request_review"


class ContentWithheld(EgressError):
    """Staged content is shown only to the project's reviewers (and operators with a reason)."""

    code = "content_withheld"


# --- what exists ----------------------------------------------------------------


class RequestNotFound(EgressError):
    code = "request_not_found"


class FileNotInRequest(EgressError):
    code = "file_not_in_request"


class GroupNotFound(EgressError):
    code = "group_not_found"


# --- what the state allows -------------------------------------------------------


class InvalidTransition(EgressError):
    code = "invalid_transition"


class RequestNotEditable(EgressError):
    code = "request_not_editable"


class AlreadyVoted(EgressError):
    code = "already_voted"


class FileBlocked(EgressError):
    code = "file_blocked"


class DuplicateFile(EgressError):
    code = "duplicate_file"


class EmptyRequest(EgressError):
    code = "empty_request"


class NotReleased(EgressError):
    code = "not_released"


class NothingToOverride(EgressError):
    code = "nothing_to_override"


# --- files refused from the outbox -------------------------------------------------


class FileRefused(EgressError):
    """A file in the outbox cannot be taken into a request."""

    code = "file_refused"


class PathEscapesOutbox(FileRefused):
    code = "path_escapes_outbox"


class SymlinkRefused(FileRefused):
    code = "symlink_refused"


class SpecialFileRefused(FileRefused):
    code = "special_file_refused"


class OutboxFileMissing(FileRefused):
    code = "outbox_file_missing"


class FileTooLarge(FileRefused):
    code = "file_too_large"


class TooManyFiles(FileRefused):
    code = "too_many_files"


class FileChangedDuringCopy(FileRefused):
    code = "file_changed_during_copy"


# --- the airlock's own storage ---------------------------------------------------------


class StagingDiskFull(EgressError):
    code = "staging_disk_full"


class StagingFailed(EgressError):
    code = "staging_failed"


class IntegrityFailure(EgressError):
    """A staged copy no longer has the hash recorded for it."""

    code = "integrity_failure"


class ConcurrentChange(EgressError):
    code = "concurrent_change"
