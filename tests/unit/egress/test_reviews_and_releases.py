"""Reviewing (independent, blinded, N approvals, blocks), releasing and downloading."""

import hashlib
import json
import os

import pytest
from sqlalchemy import select

from egress_review.domain.exceptions import (
    AlreadyVoted,
    FileBlocked,
    FileNotInRequest,
    IntegrityFailure,
    InvalidInput,
    InvalidTransition,
    MissingScope,
    NotAuthor,
    NothingToOverride,
    NotProjectMember,
    NotReleased,
    OwnRequestReview,
    ReasonRequired,
    RequestNotEditable,
    RequestNotFound,
)
from egress_review.domain.permissions import Principal, Scope
from egress_review.domain.states import RequestState
from egress_review.services.views import list_requests, request_detail
from egress_review.storage.models import AuditEntry, Release, Request
from harness.airlock_kit import PROJECT, analyst, make_env, operator, reviewer
from tests.support.airlock_states import blocking_checks, create_request_at_status

rita, ravi, rosa = reviewer("rita"), reviewer("ravi"), reviewer("rosa")


def state_of(env, rid):
    with env.db.read() as s:
        return s.get(Request, rid).state


def audit_events(env, rid=None):
    with env.db.read() as s:
        q = select(AuditEntry).order_by(AuditEntry.id)
        if rid:
            q = q.where(AuditEntry.request_id == rid)
        return [(e.event, e.outcome) for e in s.execute(q).scalars()]


def staged_id(env, rid, path="tables/counts.csv"):
    return next(f["id"] for f in request_detail(env.ctx, analyst(), rid)["staged_files"] if f["path"] == path)


def test_author_cannot_review_own_request_even_with_review_scope(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    both = Principal("alice", frozenset({Scope.REQUEST.value, Scope.REVIEW.value}))
    with pytest.raises(OwnRequestReview):
        env.airlock.reviews.vote(both, rid, "approve")
    assert ("action.refused", "refused") in audit_events(env, rid)


def test_analyst_without_review_scope_cannot_vote_or_even_see_the_request(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    with pytest.raises(RequestNotFound):
        env.airlock.reviews.vote(analyst("bob"), rid, "approve")


def test_one_approval_is_not_enough_two_independent_ones_release(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    assert env.airlock.reviews.vote(rita, rid, "approve") == "submitted"
    assert env.airlock.reviews.vote(ravi, rid, "approve") == "released"
    assert [e for e, _ in audit_events(env, rid)][-3:] == ["vote.cast", "request.approved", "request.released"]


def test_per_project_approvals_required_is_respected(tmp_path):
    env = make_env(tmp_path, approvals_required=3)
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.reviews.vote(rita, rid, "approve")
    env.airlock.reviews.vote(ravi, rid, "approve")
    assert state_of(env, rid) == "submitted"
    env.airlock.reviews.vote(rosa, rid, "approve")
    assert state_of(env, rid) == "released"


def test_voting_twice_in_a_round_is_refused(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.reviews.vote(rita, rid, "approve")
    with pytest.raises(AlreadyVoted):
        env.airlock.reviews.vote(rita, rid, "reject", "changed my mind")


def test_reject_and_request_changes_need_a_reason(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    for decision in ("reject", "request_changes"):
        with pytest.raises(ReasonRequired):
            env.airlock.reviews.vote(rita, rid, decision, "  ")
    with pytest.raises(InvalidInput):
        env.airlock.reviews.vote(rita, rid, "maybe")


def test_any_rejection_rejects_once_the_round_closes(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.reviews.vote(rita, rid, "reject", "row-level data")
    assert state_of(env, rid) == "submitted"  # the other reviewer still votes blind
    env.airlock.reviews.vote(ravi, rid, "approve")
    assert state_of(env, rid) == "rejected"


def test_changes_requested_shows_feedback_to_the_analyst(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.reviews.vote(rita, rid, "request_changes", "round n to 5")
    env.airlock.reviews.vote(ravi, rid, "approve")
    detail = request_detail(env.ctx, analyst(), rid)
    assert detail["state"] == "changes_requested"
    assert {v["reason"] for v in detail["votes"]} == {"round n to 5", ""}


def test_reviewer_does_not_see_other_votes_or_comments_before_voting(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.reviews.comment(rita, rid, "looks like n=3 in row 2", staged_id(env, rid))
    env.airlock.reviews.vote(rita, rid, "request_changes", "small count")
    blind = request_detail(env.ctx, ravi, rid)
    assert blind["votes"] == [] and blind["votes_hidden"] and blind["comments"] == []
    author_view = request_detail(env.ctx, analyst(), rid)
    assert author_view["votes"] == [] and author_view["comments"] == []
    queue = list_requests(env.ctx, ravi, "queue")
    assert queue[0]["you_voted"] is False and "votes" not in queue[0]
    env.airlock.reviews.vote(ravi, rid, "approve")
    seen = request_detail(env.ctx, ravi, rid)
    assert {v["reviewer"] for v in seen["votes"]} == {"rita", "ravi"} and len(seen["comments"]) == 1


def test_a_reviewer_who_voted_sees_the_votes_so_far(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.reviews.vote(rita, rid, "approve")
    assert [v["reviewer"] for v in request_detail(env.ctx, rita, rid)["votes"]] == ["rita"]


def test_blocked_file_cannot_be_approved(tmp_path):
    env = make_env(tmp_path, checks=blocking_checks({"counts.csv"}))
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    with pytest.raises(FileBlocked) as err:
        env.airlock.reviews.vote(rita, rid, "approve")
    assert "tables/counts.csv" in err.value.message
    env.airlock.reviews.vote(rita, rid, "request_changes", "identifier in column id")  # still possible


def test_operator_override_with_reason_allows_approval_and_is_audited(tmp_path):
    env = make_env(tmp_path, checks=blocking_checks({"counts.csv"}))
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    fid = staged_id(env, rid)
    with pytest.raises(MissingScope):
        env.airlock.reviews.override_block(rita, rid, fid, "fine")
    with pytest.raises(ReasonRequired):
        env.airlock.reviews.override_block(operator(), rid, fid, " ")
    env.airlock.reviews.override_block(operator(), rid, fid, "ids are synthetic test ids, agreed with DPO")
    with pytest.raises(NothingToOverride):
        env.airlock.reviews.override_block(operator(), rid, fid, "again")
    env.airlock.reviews.vote(rita, rid, "approve")
    env.airlock.reviews.vote(ravi, rid, "approve")
    assert state_of(env, rid) == "released"
    with env.db.read() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.event == "block.overridden")).scalar_one()
    assert json.loads(entry.details)["rules"] == ["fake_block"] and entry.actor == "olive"
    manifest = env.airlock.releases.manifest(analyst(), rid)["manifest"]
    assert manifest["files"][0]["overrides"][0]["reason"].startswith("ids are synthetic")


def test_operator_cannot_override_a_block_on_their_own_request(tmp_path):
    env = make_env(tmp_path, checks=blocking_checks({"counts.csv"}))
    both = Principal("alice", frozenset({Scope.REQUEST.value, Scope.OPERATE.value}))
    rid = create_request_at_status(env, RequestState.SUBMITTED, author=both)
    with pytest.raises(OwnRequestReview):
        env.airlock.reviews.override_block(both, rid, staged_id(env, rid), "trust me")


def test_release_manifest_records_files_hashes_checks_approvals_and_times(env):
    rid = create_request_at_status(env, RequestState.RELEASED)
    out = env.airlock.releases.manifest(analyst(), rid)
    m = out["manifest"]
    content = b"group,n\na,12\nb,15\n"
    assert m["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()
    assert m["files"][0]["checks"][0]["rule"] == "fake_pass"
    assert {a["reviewer"] for a in m["approvals"]} == {"rita", "ravi"}
    assert m["request"]["submitted_at"] and m["request"]["approved_at"] and m["released_at"]
    assert m["groups"] == [{"name": "main", "context": "Counts by group", "controls": "Suppressed n < 10"}]
    on_disk = (env.staging.manifests / f"{rid}.json").read_bytes()
    assert hashlib.sha256(on_disk).hexdigest() == out["manifest_sha256"]


def test_only_the_requesting_analyst_downloads_and_each_download_is_audited(env):
    rid = create_request_at_status(env, RequestState.RELEASED)
    fid = staged_id(env, rid)
    d = env.airlock.releases.download(analyst(), rid, fid)
    assert d.content == b"group,n\na,12\nb,15\n" and d.filename == "counts.csv"
    with pytest.raises(NotAuthor):
        env.airlock.releases.download(Principal("bob", frozenset({Scope.REQUEST.value, Scope.REVIEW.value})), rid, fid)
    with pytest.raises(MissingScope):
        env.airlock.releases.download(reviewer("rita"), rid, fid)
    events = audit_events(env, rid)
    assert events.count(("file.downloaded", "ok")) == 1
    assert events.count(("action.refused", "refused")) == 2


def test_download_refused_when_analyst_left_the_project(env):
    rid = create_request_at_status(env, RequestState.RELEASED)
    env.directory.projects[PROJECT].members.discard("alice")
    with pytest.raises(NotProjectMember):
        env.airlock.releases.download(analyst(), rid, staged_id(env, rid))


def test_hash_mismatch_on_download_is_refused_and_audited(env):
    rid = create_request_at_status(env, RequestState.RELEASED)
    fid = staged_id(env, rid)
    sha = next(f["sha256"] for f in request_detail(env.ctx, analyst(), rid)["staged_files"])
    blob = env.staging.blob_path(sha)
    os.chmod(blob, 0o644)
    blob.write_bytes(b"group,n\na,1\nb,2\n")
    with pytest.raises(IntegrityFailure):
        env.airlock.releases.download(analyst(), rid, fid)
    with env.db.read() as s:
        last = (
            s.execute(select(AuditEntry).where(AuditEntry.request_id == rid).order_by(AuditEntry.id.desc()))
            .scalars()
            .first()
        )
    assert last.outcome == "refused" and json.loads(last.details)["error"] == "integrity_failure"


def test_tampered_staging_blocks_release_and_keeps_the_request_approved(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    sha = request_detail(env.ctx, analyst(), rid)["staged_files"][0]["sha256"]
    blob = env.staging.blob_path(sha)
    os.chmod(blob, 0o644)
    blob.write_bytes(b"tampered")
    env.airlock.reviews.vote(rita, rid, "approve")
    assert env.airlock.reviews.vote(ravi, rid, "approve") == "approved"
    with env.db.read() as s:
        assert s.get(Release, rid) is None
    with pytest.raises(IntegrityFailure):
        env.airlock.releases.release(operator(), rid)


def test_operator_retries_a_release_that_failed(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    real = env.staging.write_manifest

    def fail(*a, **k):
        from egress_review.domain.exceptions import StagingDiskFull

        raise StagingDiskFull("disk full")

    env.staging.write_manifest = fail
    env.airlock.reviews.vote(rita, rid, "approve")
    env.airlock.reviews.vote(ravi, rid, "approve")
    assert state_of(env, rid) == "approved"
    env.staging.write_manifest = real
    with pytest.raises(MissingScope):
        env.airlock.releases.release(rita, rid)
    env.airlock.releases.release(operator(), rid)
    assert state_of(env, rid) == "released"


def test_revoke_needs_operator_and_reason_and_stops_downloads(env):
    rid = create_request_at_status(env, RequestState.RELEASED)
    fid = staged_id(env, rid)
    with pytest.raises(MissingScope):
        env.airlock.releases.revoke(rita, rid, "no")
    with pytest.raises(ReasonRequired):
        env.airlock.releases.revoke(operator(), rid, "")
    env.airlock.releases.revoke(operator(), rid, "contains a small count after all")
    assert state_of(env, rid) == "revoked"
    with pytest.raises(NotReleased):
        env.airlock.releases.download(analyst(), rid, fid)
    assert request_detail(env.ctx, analyst(), rid)["revocation"]["reason"] == "contains a small count after all"


def test_revoking_a_draft_is_an_invalid_transition(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    with pytest.raises(InvalidTransition):
        env.airlock.releases.revoke(operator(), rid, "why")


def test_comments_per_file_and_not_on_drafts(env):
    draft = create_request_at_status(env, RequestState.DRAFT)
    with pytest.raises(RequestNotEditable):
        env.airlock.reviews.comment(analyst(), draft, "hello")
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.reviews.comment(rita, rid, "check column n", staged_id(env, rid))
    with pytest.raises(FileNotInRequest):
        env.airlock.reviews.comment(rita, rid, "which file?", 999999)
    with pytest.raises(RequestNotFound):
        env.airlock.reviews.comment(analyst("bob"), rid, "drive-by")


def test_downloading_a_file_from_another_request_is_refused(env):
    a = create_request_at_status(env, RequestState.RELEASED)
    b = create_request_at_status(env, RequestState.RELEASED, files={"other.csv": "x,y\n"})
    with pytest.raises(FileNotInRequest):
        env.airlock.releases.download(analyst(), a, staged_id(env, b, "other.csv"))


def test_earlier_released_files_are_given_to_checks_for_differencing(tmp_path):
    seen = []

    def recording(path, context):
        seen.append(context.released_tables)
        from harness.airlock_kit import passing_checks

        return passing_checks(path, context)

    env = make_env(tmp_path, checks=recording)
    first = create_request_at_status(env, RequestState.RELEASED)
    create_request_at_status(env, RequestState.SUBMITTED, files={"new.csv": "group,n\na,13\n"})
    sha = request_detail(env.ctx, analyst(), first)["staged_files"][0]["sha256"]
    assert seen[0] == () and seen[-1] == (env.staging.blob_path(sha),)
