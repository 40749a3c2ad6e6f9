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
        raise ReasonRequired("Give a reason: the analyst reads it to know what to change (or why it was rejected).")


def check_written_reason(reason: str, what: str) -> None:
    if not reason.strip():
        raise ReasonRequired(f"Write a reason for {what}; it is kept in the audit log.")


def check_not_voted(existing_voters: Iterable[str], reviewer: str) -> None:
    if reviewer in set(existing_voters):
        raise AlreadyVoted("You have already decided on every file of this round; one decision per reviewer per file.")


def check_not_decided(existing_deciders: Iterable[str], reviewer: str, path: str) -> None:
    if reviewer in set(existing_deciders):
        raise AlreadyVoted(f"You have already decided on '{path}' in this round; one decision per reviewer per file.")


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
        raise NotReleased(f"This request is {state.label.lower()}, not released: its files cannot be downloaded.")


def round_outcome(
    file_decisions: list[list[VoteDecision]], complete_reviews: int, approvals_required: int
) -> VoteDecision | None:
    """Close a review round once ``approvals_required`` reviewers have each decided every file.

    ``file_decisions`` holds, for each file of the round, the decisions reviewers made on it.
    Reviewers decide blind and independently, file by file. Once enough reviews are complete:
    every file approved by the required number of reviewers → approve (the request is released);
    every file rejected by someone → reject (nothing is left to release); otherwise → request
    changes (the analyst replaces or removes the files that were not approved and resubmits).
    A round with too few complete reviews stays open (None).
    """
    required = max(approvals_required, 1)
    if complete_reviews < required or not file_decisions:
        return None
    if all(decisions.count(VoteDecision.APPROVE) >= required for decisions in file_decisions):
        return VoteDecision.APPROVE
    if all(VoteDecision.REJECT in decisions for decisions in file_decisions):
        return VoteDecision.REJECT
    return VoteDecision.REQUEST_CHANGES


def overall_decision(decisions: list[VoteDecision]) -> VoteDecision:
    """One reviewer's review of a round, summed up from their decisions on its files."""
    if decisions and all(d is VoteDecision.APPROVE for d in decisions):
        return VoteDecision.APPROVE
    if decisions and all(d is VoteDecision.REJECT for d in decisions):
        return VoteDecision.REJECT
    return VoteDecision.REQUEST_CHANGES
