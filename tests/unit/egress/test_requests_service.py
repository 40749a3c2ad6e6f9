"""Analysts' use cases through the real services over SQLite."""

import json

import pytest
from sqlalchemy import select

from egress_review.domain.exceptions import (
    DuplicateFile,
    EmptyRequest,
    InvalidInput,
    InvalidTransition,
    MissingScope,
    NotAuthor,
    NotProjectMember,
    ProjectNotActive,
    RequestNotEditable,
    RequestNotFound,
    SymlinkRefused,
    TooManyFiles,
)
from egress_review.domain.states import RequestState
from egress_review.services.views import request_detail
from egress_review.staging import StagingLimits
from egress_review.storage.models import AuditEntry, CheckRecord, Request, StagedFile
from harness.airlock_kit import PROJECT, analyst, make_env, reviewer
from tests.support.airlock_states import blocking_checks, create_request_at_status


def state_of(env, rid):
    with env.db.read() as s:
        return s.get(Request, rid).state


def events(env, rid):
    with env.db.read() as s:
        return [
            e.event
            for e in s.execute(select(AuditEntry).where(AuditEntry.request_id == rid).order_by(AuditEntry.id)).scalars()
        ]


def test_member_creates_a_draft_and_it_is_audited(env):
    rid = env.airlock.requests.create(analyst(), PROJECT, "my results")
    assert state_of(env, rid) == "draft"
    assert events(env, rid) == ["request.created"]


def test_non_member_cannot_create_and_the_refusal_is_audited(env):
    with pytest.raises(NotProjectMember):
        env.airlock.requests.create(analyst("mallory"), PROJECT)
    with env.db.read() as s:
        last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
    assert (last.event, last.outcome, last.actor) == ("action.refused", "refused", "mallory")


def test_suspended_project_can_request_nothing(env):
    rid = create_request_at_status(env, RequestState.DRAFT)
    env.directory.projects[PROJECT].status = "suspended"
    with pytest.raises(ProjectNotActive):
        env.airlock.requests.create(analyst(), PROJECT)
    with pytest.raises(ProjectNotActive):
        env.airlock.requests.submit(analyst(), rid)
    assert state_of(env, rid) == "draft"


def test_reviewer_scope_alone_cannot_create_requests(env):
    with pytest.raises(MissingScope):
        env.airlock.requests.create(reviewer("alice"), PROJECT)


def test_only_the_author_edits_the_draft(env):
    rid = create_request_at_status(env, RequestState.DRAFT)
    with pytest.raises(RequestNotFound):  # another member cannot even see the draft
        env.airlock.requests.add_file(analyst("bob"), rid, "x.csv", "main")


def test_adding_a_symlink_is_refused_with_a_reason(env):
    rid = create_request_at_status(env, RequestState.DRAFT)
    (env.outbox() / "link.csv").symlink_to(env.outbox() / "tables" / "counts.csv")
    with pytest.raises(SymlinkRefused):
        env.airlock.requests.add_file(analyst(), rid, "link.csv", "main")


def test_adding_the_same_path_twice_is_refused(env):
    rid = create_request_at_status(env, RequestState.DRAFT)
    with pytest.raises(DuplicateFile):
        env.airlock.requests.add_file(analyst(), rid, "./tables//counts.csv", "other")


def test_file_count_limit_applies_when_adding(tmp_path):
    env = make_env(tmp_path, limits=StagingLimits(max_files=1))
    rid = create_request_at_status(env, RequestState.DRAFT)
    env.write_outbox("b.csv", "x,y\n")
    with pytest.raises(TooManyFiles):
        env.airlock.requests.add_file(analyst(), rid, "b.csv", "main")


def test_submitting_an_empty_request_is_refused(env):
    rid = env.airlock.requests.create(analyst(), PROJECT)
    with pytest.raises(EmptyRequest):
        env.airlock.requests.submit(analyst(), rid)


def test_groups_must_be_described_before_submission(env):
    rid = env.airlock.requests.create(analyst(), PROJECT)
    env.write_outbox("a.csv", "x,y\n1,2\n")
    env.airlock.requests.add_file(analyst(), rid, "a.csv", "undescribed")
    with pytest.raises(InvalidInput) as err:
        env.airlock.requests.submit(analyst(), rid)
    assert "undescribed" in err.value.message
    assert state_of(env, rid) == "draft"


def test_submission_stages_files_and_stores_check_records_verbatim(tmp_path):
    env = make_env(tmp_path, checks=blocking_checks({"secret.csv"}))
    rid = create_request_at_status(env, RequestState.SUBMITTED, files={"ok.csv": "a,b\n", "secret.csv": "id\nP1\n"})
    with env.db.read() as s:
        staged = {sf.path: sf for sf in s.execute(select(StagedFile).where(StagedFile.request_id == rid)).scalars()}
        records = {
            sf.path: [
                json.loads(c.record)
                for c in s.execute(select(CheckRecord).where(CheckRecord.staged_file_id == sf.id)).scalars()
            ]
            for sf in staged.values()
        }
    assert set(staged) == {"ok.csv", "secret.csv"}
    assert env.staging.blob_path(staged["ok.csv"].sha256).read_bytes() == b"a,b\n"
    block = records["secret.csv"][0]
    assert block == {
        "rule": "fake_block",
        "version": "2",
        "parameters": {"names": ["secret.csv"]},
        "verdict": "block",
        "summary": "blocked for the test",
        "findings": [{"message": "identifier found", "location": "row 1, column 'id'"}],
    }
    detail = request_detail(env.ctx, analyst(), rid)
    assert {f["path"]: f["blocked"] for f in detail["staged_files"]} == {"ok.csv": False, "secret.csv": True}


def test_a_crashing_check_blocks_the_file_instead_of_failing_submission(tmp_path):
    def broken(path, context):
        raise RuntimeError("parser exploded")

    env = make_env(tmp_path, checks=broken)
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    detail = request_detail(env.ctx, analyst(), rid)
    [f] = detail["staged_files"]
    assert f["blocked"] and f["checks"][0]["verdict"] == "error"


def test_submitted_request_can_no_longer_change(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.write_outbox("late.csv", "a,b\n")
    with pytest.raises(RequestNotEditable):
        env.airlock.requests.add_file(analyst(), rid, "late.csv", "main")
    with pytest.raises(InvalidTransition):
        env.airlock.requests.submit(analyst(), rid)


def test_withdraw_from_submitted_and_not_after_release(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    with pytest.raises(NotAuthor):
        env.airlock.requests.withdraw(analyst("bob").__class__("bob", analyst().scopes | {"custom:egress:review"}), rid)
    env.airlock.requests.withdraw(analyst(), rid)
    assert state_of(env, rid) == "withdrawn"
    released = create_request_at_status(env, RequestState.RELEASED)
    with pytest.raises(InvalidTransition):
        env.airlock.requests.withdraw(analyst(), released)


def test_resubmission_after_changes_stages_a_new_round_with_the_replaced_file(tmp_path):
    env = make_env(tmp_path, checks=blocking_checks({"counts.csv"}))
    rid = create_request_at_status(env, RequestState.CHANGES_REQUESTED)
    env.write_outbox("tables/counts.csv", "group,n\nall,27\n")
    env.airlock.ctx.run_checks = blocking_checks(set())  # the replaced file no longer blocks
    env.airlock.requests.submit(analyst(), rid)
    detail = request_detail(env.ctx, analyst(), rid)
    assert detail["state"] == "submitted" and detail["round"] == 2
    [f] = detail["staged_files"]
    assert not f["blocked"] and env.staging.read_verified(f["sha256"]) == b"group,n\nall,27\n"
    assert "request.resubmitted" in events(env, rid)


def test_submission_audit_names_every_file_and_hash(env):
    create_request_at_status(env, RequestState.SUBMITTED)
    with env.db.read() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.event == "request.submitted")).scalar_one()
    details = json.loads(entry.details)
    assert details["from"] == "draft" and details["to"] == "submitted"
    assert details["files"][0]["path"] == "tables/counts.csv" and len(details["files"][0]["sha256"]) == 64


def test_text_fields_reject_lone_surrogates_instead_of_crashing(env):
    with pytest.raises(InvalidInput):
        env.airlock.requests.create(analyst(), PROJECT, "\ud800")
