"""The state table: complete, consistent, and the documented diagram is current."""

from pathlib import Path

import pytest

from egress_review.domain.events import AuditEvent
from egress_review.domain.exceptions import InvalidTransition
from egress_review.domain.states import EDITABLE_STATES, TERMINAL_STATES, RequestState
from egress_review.domain.transitions import (
    TRANSITIONS,
    Action,
    Actor,
    actions_from,
    can_transition,
    check_transition,
    mermaid_diagram,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "reviewers.md"


def test_every_state_is_reachable_from_draft():
    reached, frontier = {RequestState.DRAFT}, [RequestState.DRAFT]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS:
            if t.source is state and t.target not in reached:
                reached.add(t.target)
                frontier.append(t.target)
    assert reached == set(RequestState)


def test_every_transition_has_an_audit_event_and_an_actor():
    for t in TRANSITIONS:
        assert isinstance(t.event, AuditEvent), t
        assert isinstance(t.actor, Actor), t
        assert t.event.value.startswith("request."), t


def test_every_action_is_used_by_some_transition():
    assert {t.action for t in TRANSITIONS} == set(Action)


def test_only_terminal_states_have_no_way_out():
    stuck = {s for s in RequestState if not actions_from(s)}
    assert stuck == set(TERMINAL_STATES)


def test_every_non_terminal_state_has_an_owner_who_moves_it_on():
    for state in set(RequestState) - set(TERMINAL_STATES):
        owners = {t.actor for t in TRANSITIONS if t.source is state}
        assert owners, state


def test_editable_states_are_the_ones_the_author_submits_from():
    submitters = {t.source for t in TRANSITIONS if t.action in (Action.SUBMIT, Action.RESUBMIT)}
    assert submitters == set(EDITABLE_STATES)


@pytest.mark.parametrize("state", list(RequestState))
@pytest.mark.parametrize("action", list(Action))
def test_check_and_can_transition_agree(state, action):
    allowed = can_transition(state, action)
    if allowed:
        assert check_transition(state, action).source is state
    else:
        with pytest.raises(InvalidTransition) as err:
            check_transition(state, action)
        assert err.value.message  # tells the person what to do


def test_released_requests_cannot_be_resubmitted_or_withdrawn():
    assert not can_transition(RequestState.RELEASED, Action.WITHDRAW)
    assert not can_transition(RequestState.RELEASED, Action.SUBMIT)
    assert can_transition(RequestState.RELEASED, Action.REVOKE)


def test_mermaid_diagram_has_every_transition():
    diagram = mermaid_diagram()
    assert diagram.startswith("stateDiagram-v2")
    for t in TRANSITIONS:
        assert f"{t.source.name} --> {t.target.name}: {t.action.value}" in diagram


def test_reviewers_doc_contains_the_current_generated_diagram():
    text = DOCS.read_text()
    assert "```mermaid\n" + mermaid_diagram() + "```" in text, (
        "docs/reviewers.md is out of date: paste the output of "
        "`python -c 'from egress_review.domain.transitions import mermaid_diagram; print(mermaid_diagram(), end=\"\")'`"
    )
