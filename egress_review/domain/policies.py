"""What a request's state (and its recorded facts) allows, whoever asks.

Paired ``check_*`` (raises) and ``can_*`` (answers).
"""

from __future__ import annotations

from collections.abc import Iterable

from .exceptions import AlreadyVoted, EmptyRequest, FileBlocked, NotReleased, ReasonRequired, RequestNotEditable
from .states import EDITABLE_STATES, RequestState, VoteDecision


def can_edit(state: RequestState) -> bool:
    return state in EDITABLE_STATES


def check_editable(state: RequestState) -> None:
    if not can_edit(state):
        raise RequestNotEditable(
            f"This request is {state.label.lower()}: its files and groups can no longer change. "
            "Withdraw it and start a new one, or wait for the reviewers to ask for changes."
        )


def can_vote_in(state: RequestState) -> bool:
    return state is RequestState.SUBMITTED


def check_votable(state: RequestState) -> None:
    if not can_vote_in(state):
        raise RequestNotEditable(
            f"This request is {state.label.lower()}, so it takes no votes. Reload the review queue."
        )


def check_reason(decision: VoteDecision, reason: str) -> None:
    if decision.needs_reason and not reason.strip():
        raise ReasonRequired(
            "Give a reason: the analyst reads it to know what to change (or why it was rejected)."
        )


def check_written_reason(reason: str, what: str) -> None:
    if not reason.strip():
        raise ReasonRequired(f"Write a reason for {what}; it is kept in the audit log.")


def check_not_voted(existing_voters: Iterable[str], reviewer: str) -> None:
    if reviewer in set(existing_voters):
        raise AlreadyVoted(
            "You have already voted on this round of the request; one vote per reviewer per round."
        )


def check_no_blocked_files(blocked_paths: Iterable[str]) -> None:
    blocked = sorted(blocked_paths)
    if blocked:
        raise FileBlocked(
            "Cannot approve while automatic checks block: "
            + ", ".join(blocked)
            + ". Request changes so the analyst replaces the file(s), or ask an operator to override "
            "the block with a written reason."
        )


def check_has_files(file_count: int) -> None:
    if file_count == 0:
        raise EmptyRequest("Add at least one file from your outbox before submitting.")


def check_downloadable(state: RequestState) -> None:
    if state is not RequestState.RELEASED:
        raise NotReleased(
            f"This request is {state.label.lower()}, not released: its files cannot be downloaded."
        )


def round_outcome(decisions: list[VoteDecision], approvals_required: int) -> VoteDecision | None:
    """Close a review round once ``approvals_required`` votes are in.

    Reviewers vote blind and independently; the round is decided when the
    required number of votes has been cast: all approve → approve; any reject →
    reject; otherwise (at least one request for changes) → request changes.
    A round with too few votes stays open (None).
    """
    if len(decisions) < max(approvals_required, 1):
        return None
    if VoteDecision.REJECT in decisions:
        return VoteDecision.REJECT
    if VoteDecision.REQUEST_CHANGES in decisions:
        return VoteDecision.REQUEST_CHANGES
    return VoteDecision.APPROVE
