"""Decisions file by file: progress without names while a round is open, release once every file has
its approvals, files not approved replaced in the next round, the decisions in the manifest and audit."""

import pytest
from sqlalchemy import select

from egress_review.domain.exceptions import AlreadyVoted, FileBlocked, ReasonRequired
from egress_review.domain.states import RequestState
from egress_review.services.views import request_detail
from egress_review.storage.models import AuditEntry
from harness.airlock_kit import analyst, reviewer
from tests.support.airlock_states import blocking_checks, create_request_at_status

FILES = {"tables/a.csv": "group,n\nx,12\n", "tables/b.csv": "group,n\ny,15\n"}
alice, rita, ravi = analyst(), reviewer("rita"), reviewer("ravi")


def ids(env, rid, who=alice) -> dict[str, int]:
    return {sf["path"]: sf["id"] for sf in request_detail(env.ctx, who, rid)["staged_files"]}


def by_path(env, rid, who) -> dict[str, dict]:
    return {sf["path"]: sf for sf in request_detail(env.ctx, who, rid)["staged_files"]}


def test_the_analyst_sees_progress_but_not_who_decided_what_until_the_round_closes(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED, files=FILES)
    f = ids(env, rid)
    assert env.airlock.reviews.decide(rita, rid, f["tables/a.csv"], "approve") == "submitted"

    seen = by_path(env, rid, alice)
    assert seen["tables/a.csv"]["approvals"] == 1 and seen["tables/a.csv"]["approvals_required"] == 2
    assert seen["tables/b.csv"]["approvals"] == 0
    assert all(sf["decisions"] == [] for sf in seen.values())
    assert request_detail(env.ctx, alice, rid)["reviews_done"] == 0
    # a reviewer who has not decided a file sees no tally of it (independent decisions)
    assert by_path(env, rid, ravi)["tables/a.csv"]["approvals"] is None
    assert by_path(env, rid, rita)["tables/a.csv"]["your_decision"]["decision"] == "approve"

    env.airlock.reviews.decide(rita, rid, f["tables/b.csv"], "approve")
    assert request_detail(env.ctx, alice, rid)["reviews_done"] == 1
    assert {d["reviewer"] for d in by_path(env, rid, rita)["tables/a.csv"]["decisions"]} == {"rita"}


def test_released_once_every_file_has_the_required_approvals_with_decisions_in_the_manifest(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED, files=FILES)
    f = ids(env, rid)
    for who in (rita, ravi):
        for fid in f.values():
            state = env.airlock.reviews.decide(who, rid, fid, "approve", "fine")
    assert state == "released"
    manifest = env.airlock.releases.manifest(alice, rid)["manifest"]
    assert manifest["manifest_version"] == 2
    assert all({d["reviewer"] for d in mf["decisions"]} == {"rita", "ravi"} for mf in manifest["files"])
    with env.db.read() as s:
        events = [e.event for e in s.execute(select(AuditEntry).where(AuditEntry.request_id == rid)).scalars()]
    assert events.count("file.decided") == 4 and events.count("vote.cast") == 2 and "request.released" in events


def test_a_file_not_approved_is_replaced_in_the_next_round_and_the_rest_goes_out(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED, files=FILES)
    f = ids(env, rid)
    env.airlock.reviews.decide(rita, rid, f["tables/a.csv"], "approve")
    env.airlock.reviews.decide(rita, rid, f["tables/b.csv"], "reject", "row y is a single person")
    env.airlock.reviews.vote(ravi, rid, "approve")
    detail = request_detail(env.ctx, alice, rid)
    assert detail["state"] == "changes_requested"
    b = by_path(env, rid, alice)["tables/b.csv"]
    assert {(d["reviewer"], d["decision"], d["reason"]) for d in b["decisions"]} == {
        ("rita", "reject", "row y is a single person"),
        ("ravi", "approve", ""),
    }

    env.write_outbox("tables/b.csv", "group,n\ny,25\n")
    env.airlock.requests.submit(alice, rid)
    f2 = ids(env, rid)
    round2 = by_path(env, rid, rita)
    assert round2["tables/a.csv"]["unchanged_since"] == {"round": 1, "approvals": 2}  # the same bytes
    assert round2["tables/b.csv"]["unchanged_since"] is None  # replaced
    assert request_detail(env.ctx, alice, rid)["round"] == 2 and all(
        sf["approvals"] == 0 for sf in by_path(env, rid, alice).values()
    )
    env.airlock.reviews.vote(rita, rid, "approve")
    assert env.airlock.reviews.vote(ravi, rid, "approve") == "released"
    assert set(f2) == set(f)


def test_every_file_rejected_rejects_the_request(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED, files=FILES)
    f = ids(env, rid)
    env.airlock.reviews.decide(rita, rid, f["tables/a.csv"], "reject", "not aggregate")
    env.airlock.reviews.decide(rita, rid, f["tables/b.csv"], "approve")
    env.airlock.reviews.decide(ravi, rid, f["tables/a.csv"], "approve")
    assert env.airlock.reviews.decide(ravi, rid, f["tables/b.csv"], "reject", "not aggregate") == "rejected"


def test_one_decision_per_reviewer_per_file_with_a_reason_unless_approving(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED, files=FILES)
    f = ids(env, rid)
    with pytest.raises(ReasonRequired):
        env.airlock.reviews.decide(rita, rid, f["tables/a.csv"], "request_changes", "  ")
    env.airlock.reviews.decide(rita, rid, f["tables/a.csv"], "request_changes", "round n to 5")
    with pytest.raises(AlreadyVoted, match="tables/a.csv"):
        env.airlock.reviews.decide(rita, rid, f["tables/a.csv"], "approve")
    env.airlock.reviews.vote(rita, rid, "approve")  # the remaining file only
    mine = by_path(env, rid, rita)
    assert mine["tables/a.csv"]["your_decision"]["decision"] == "request_changes"
    assert mine["tables/b.csv"]["your_decision"]["decision"] == "approve"
    with pytest.raises(AlreadyVoted):
        env.airlock.reviews.vote(rita, rid, "approve")
    votes = request_detail(env.ctx, rita, rid)["votes"]
    assert [(v["reviewer"], v["decision"]) for v in votes] == [("rita", "request_changes")]


def test_a_blocked_file_cannot_be_approved_but_the_others_can(env):
    env.airlock.ctx.run_checks = blocking_checks({"b.csv"})
    rid = create_request_at_status(env, RequestState.SUBMITTED, files=FILES)
    f = ids(env, rid)
    with pytest.raises(FileBlocked, match="tables/b.csv"):
        env.airlock.reviews.decide(rita, rid, f["tables/b.csv"], "approve")
    assert env.airlock.reviews.decide(rita, rid, f["tables/a.csv"], "approve") == "submitted"


def test_nobody_decides_on_their_own_request_or_on_a_file_of_another_request(env):
    from egress_review.domain.exceptions import FileNotInRequest, OwnRequestReview
    from egress_review.domain.permissions import Principal, Scope

    rid = create_request_at_status(env, RequestState.SUBMITTED, files=FILES)
    other = create_request_at_status(env, RequestState.SUBMITTED, files={"tables/c.csv": "group,n\nz,30\n"})
    f, foreign = ids(env, rid), ids(env, other)
    author_reviewer = Principal("alice", frozenset({Scope.REQUEST.value, Scope.REVIEW.value}))
    with pytest.raises(OwnRequestReview):
        env.airlock.reviews.decide(author_reviewer, rid, f["tables/a.csv"], "approve")
    with pytest.raises(FileNotInRequest):
        env.airlock.reviews.decide(rita, rid, foreign["tables/c.csv"], "approve")
    with env.db.read() as s:
        refused = [e for e in s.execute(select(AuditEntry).where(AuditEntry.outcome == "refused")).scalars()]
    assert len(refused) == 2  # each refusal is audited
