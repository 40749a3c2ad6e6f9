"""The one table of allowed state transitions, and the functions over it.

``check_transition`` raises, ``can_transition`` answers; the request
services perform a transition only through ``check_transition`` and write the
transition's audit event in the same database transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .events import AuditEvent
from .exceptions import InvalidTransition
from .states import RequestState as S


class Action(str, enum.Enum):
    SUBMIT = "submit"
    RESUBMIT = "resubmit"
    # A round closes once the required number of reviewers have each decided every file
    # (policies.round_outcome); how it closes:
    APPROVE = "approve"  # every file has the required number of approvals
    REQUEST_CHANGES = "request_changes"  # some file was not approved: the analyst replaces or removes it
    REJECT = "reject"  # every file was rejected by a reviewer: nothing is left to release
    RELEASE = "release"
    WITHDRAW = "withdraw"
    REVOKE = "revoke"


class Actor(str, enum.Enum):
    """Who causes a transition (the "owner" of the state it leaves)."""

    AUTHOR = "author"
    REVIEWERS = "reviewers"  # the vote that closes a review round
    OPERATOR = "operator"
    SYSTEM = "system"  # the service itself, right after approval (operators may retry)


@dataclass(frozen=True)
class Transition:
    source: S
    action: Action
    target: S
    actor: Actor
    event: AuditEvent


TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.DRAFT, Action.SUBMIT, S.SUBMITTED, Actor.AUTHOR, AuditEvent.REQUEST_SUBMITTED),
    Transition(S.DRAFT, Action.WITHDRAW, S.WITHDRAWN, Actor.AUTHOR, AuditEvent.REQUEST_WITHDRAWN),
    Transition(S.SUBMITTED, Action.APPROVE, S.APPROVED, Actor.REVIEWERS, AuditEvent.REQUEST_APPROVED),
    Transition(
        S.SUBMITTED,
        Action.REQUEST_CHANGES,
        S.CHANGES_REQUESTED,
        Actor.REVIEWERS,
        AuditEvent.REQUEST_CHANGES_REQUESTED,
    ),
    Transition(S.SUBMITTED, Action.REJECT, S.REJECTED, Actor.REVIEWERS, AuditEvent.REQUEST_REJECTED),
    Transition(S.SUBMITTED, Action.WITHDRAW, S.WITHDRAWN, Actor.AUTHOR, AuditEvent.REQUEST_WITHDRAWN),
    Transition(
        S.CHANGES_REQUESTED,
        Action.RESUBMIT,
        S.SUBMITTED,
        Actor.AUTHOR,
        AuditEvent.REQUEST_RESUBMITTED,
    ),
    Transition(S.CHANGES_REQUESTED, Action.WITHDRAW, S.WITHDRAWN, Actor.AUTHOR, AuditEvent.REQUEST_WITHDRAWN),
    Transition(S.APPROVED, Action.RELEASE, S.RELEASED, Actor.SYSTEM, AuditEvent.REQUEST_RELEASED),
    Transition(S.APPROVED, Action.REVOKE, S.REVOKED, Actor.OPERATOR, AuditEvent.REQUEST_REVOKED),
    Transition(S.RELEASED, Action.REVOKE, S.REVOKED, Actor.OPERATOR, AuditEvent.REQUEST_REVOKED),
)

_BY_KEY: dict[tuple[S, Action], Transition] = {(t.source, t.action): t for t in TRANSITIONS}
assert len(_BY_KEY) == len(TRANSITIONS), "two transitions share a (state, action) pair"

_WHAT_TO_DO: dict[S, str] = {
    S.DRAFT: "Add files and submit it, or withdraw it.",
    S.SUBMITTED: "It is waiting for reviewers; you can only withdraw it now.",
    S.CHANGES_REQUESTED: "Read the reviewers' feedback, change the files in your outbox and resubmit.",
    S.APPROVED: "It is being released; reload the page in a moment.",
    S.RELEASED: "Download its files; an operator can revoke the release.",
    S.REJECTED: "It is closed; start a new request if you have new outputs.",
    S.WITHDRAWN: "It is closed; start a new request if you have new outputs.",
    S.REVOKED: "It is closed; ask an operator why the release was revoked.",
}


def transition_for(state: S, action: Action) -> Transition | None:
    return _BY_KEY.get((state, action))


def can_transition(state: S, action: Action) -> bool:
    return (state, action) in _BY_KEY


def check_transition(state: S, action: Action) -> Transition:
    """The transition for ``action`` from ``state``; raises InvalidTransition if none."""
    transition = _BY_KEY.get((state, action))
    if transition is None:
        raise InvalidTransition(
            f"A request that is {state.label.lower()} cannot be {_past(action)}. {_WHAT_TO_DO[state]}"
        )
    return transition


def actions_from(state: S) -> tuple[Action, ...]:
    return tuple(t.action for t in TRANSITIONS if t.source is state)


def _past(action: Action) -> str:
    return {
        Action.SUBMIT: "submitted",
        Action.RESUBMIT: "resubmitted",
        Action.APPROVE: "approved",
        Action.REQUEST_CHANGES: "sent back for changes",
        Action.REJECT: "rejected",
        Action.RELEASE: "released",
        Action.WITHDRAW: "withdrawn",
        Action.REVOKE: "revoked",
    }[action]


#: What closes a review round each way, for the diagram (decisions are made file by file).
_WHEN = {
    Action.APPROVE: "every file approved by enough reviewers",
    Action.REQUEST_CHANGES: "a file not approved",
    Action.REJECT: "every file rejected",
}


def mermaid_diagram() -> str:
    """A Mermaid state diagram generated from TRANSITIONS (docs/reviewers.md embeds it)."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.DRAFT.name}"]
    for t in TRANSITIONS:
        when = f", {_WHEN[t.action]}" if t.action in _WHEN else ""
        lines.append(f"    {t.source.name} --> {t.target.name}: {t.action.value} ({t.actor.value}{when})")
    for state in S:
        if not actions_from(state):
            lines.append(f"    {state.name} --> [*]")
    return "\n".join(lines) + "\n"
