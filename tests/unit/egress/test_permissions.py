"""Who may act (scopes, membership, authorship) and what the state allows."""

from pathlib import Path

import pytest

from egress_review.directory import DenyAllDirectory, InMemoryProjectDirectory
from egress_review.domain import permissions as P
from egress_review.domain import policies
from egress_review.domain.exceptions import (
    AlreadyVoted,
    FileBlocked,
    MissingScope,
    NotProjectMember,
    OwnRequestReview,
    ProjectNotActive,
    ReasonRequired,
    RequestNotFound,
)
from egress_review.domain.permissions import Principal, Scope
from egress_review.domain.states import RequestState, VoteDecision


class Req:
    def __init__(self, state="submitted", author="alice", project="p"):
        self.state, self.author, self.project = state, author, project


@pytest.fixture
def directory(tmp_path):
    d = InMemoryProjectDirectory(outbox_root=tmp_path)
    d.add_project("p", members={"alice"})
    d.add_project("frozen", members={"alice"}, status="suspended")
    return d


def who(name, *scopes):
    return Principal(name, frozenset(s.value for s in scopes))


def test_no_scope_fails_closed_for_every_check(directory):
    nobody = who("alice")
    with pytest.raises(MissingScope):
        P.check_can_request_for(nobody, "p", directory)
    with pytest.raises(MissingScope):
        P.check_can_review(nobody, Req(author="bob"))
    with pytest.raises(MissingScope):
        P.check_can_operate(nobody)
    assert not P.can_request_for(nobody, "p", directory)


def test_filtered_scope_is_not_understood_and_denies():
    p = Principal("rita", frozenset({"custom:egress:review!group=x"}))
    assert not P.can_review(p, Req(author="bob"))


def test_only_active_members_of_active_projects_can_request(directory):
    alice, bob = who("alice", Scope.REQUEST), who("bob", Scope.REQUEST)
    P.check_can_request_for(alice, "p", directory)
    with pytest.raises(NotProjectMember):
        P.check_can_request_for(bob, "p", directory)
    with pytest.raises(ProjectNotActive):
        P.check_can_request_for(alice, "frozen", directory)
    with pytest.raises(NotProjectMember):
        P.check_can_request_for(alice, "unknown", directory)


def test_unconfigured_directory_denies_everyone():
    with pytest.raises(NotProjectMember):
        P.check_can_request_for(who("alice", Scope.REQUEST), "p", DenyAllDirectory())


def test_nobody_reviews_their_own_request():
    with pytest.raises(OwnRequestReview):
        P.check_can_review(who("alice", Scope.REVIEW, Scope.REQUEST), Req(author="alice"))
    assert P.can_review(who("rita", Scope.REVIEW), Req(author="alice"))


def test_drafts_are_visible_only_to_their_author():
    draft = Req(state="draft")
    assert P.can_view(who("alice", Scope.REQUEST), draft)
    assert not P.can_view(who("rita", Scope.REVIEW), draft)
    with pytest.raises(RequestNotFound):
        P.check_can_view(who("bob", Scope.REQUEST), Req())


def test_download_needs_author_who_is_still_a_member(directory):
    req = Req(state="released")
    P.check_can_download(who("alice", Scope.REQUEST), req, directory)
    directory.projects["p"].members.discard("alice")
    with pytest.raises(NotProjectMember):
        P.check_can_download(who("alice", Scope.REQUEST), req, directory)


def test_rejection_and_changes_need_a_reason_approval_does_not():
    policies.check_reason(VoteDecision.APPROVE, "")
    for decision in (VoteDecision.REJECT, VoteDecision.REQUEST_CHANGES):
        with pytest.raises(ReasonRequired):
            policies.check_reason(decision, "   ")


def test_second_vote_in_a_round_is_refused():
    with pytest.raises(AlreadyVoted):
        policies.check_not_voted(["rita"], "rita")
    policies.check_not_voted(["rita"], "ravi")


def test_blocked_files_refuse_approval_and_name_the_files():
    with pytest.raises(FileBlocked) as err:
        policies.check_no_blocked_files(["b.csv", "a.csv"])
    assert "a.csv, b.csv" in err.value.message


A, C, R = "approve", "request_changes", "reject"


@pytest.mark.parametrize(
    "files,complete,required,outcome",
    [
        ([[A]], 1, 2, None),  # one review of two
        ([[A, A]], 2, 2, "approve"),
        ([[A, A], [A, C]], 2, 2, "request_changes"),  # one file not approved: changes
        ([[A, A], [A, R]], 2, 2, "request_changes"),  # one file rejected, the other can still go
        ([[R, A], [A, R]], 2, 2, "reject"),  # every file rejected by someone: nothing left
        ([[A]], 1, 1, "approve"),
        ([[A, A]], 2, 3, None),
        ([[A]], 1, 0, "approve"),  # a nonsensical setting still needs one review
        ([[A, A, C]], 3, 2, "approve"),  # a third reviewer's doubt does not undo two approvals
    ],
)
def test_round_closes_once_enough_reviewers_decided_every_file(files, complete, required, outcome):
    result = policies.round_outcome([[VoteDecision(d) for d in f] for f in files], complete, required)
    assert (result.value if result else None) == outcome


@pytest.mark.parametrize("decisions,overall", [([A, A], A), ([R, R], R), ([A, R], C), ([A, C], C), ([], C)])
def test_a_reviewers_review_sums_up_their_file_decisions(decisions, overall):
    assert policies.overall_decision([VoteDecision(d) for d in decisions]).value == overall


def test_editable_only_in_draft_and_changes_requested():
    assert {s for s in RequestState if policies.can_edit(s)} == {RequestState.DRAFT, RequestState.CHANGES_REQUESTED}


def test_in_memory_directory_puts_outboxes_under_project_and_user(tmp_path):
    d = InMemoryProjectDirectory(outbox_root=tmp_path)
    d.add_project("p", members={"u"})
    assert d.outbox_path("p", "u") == Path(tmp_path) / "p" / "u"
    assert d.outbox_path("p", "u").is_dir()
