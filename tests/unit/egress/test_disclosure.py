"""Who receives the content of staged files (domain/disclosure.py), applied by the services:
the author never, reviewers while they review, operators with an audited reason."""

import json
import secrets

import pytest
from sqlalchemy import select

from egress_review.checks.types import CheckResult, Finding, Verdict
from egress_review.domain.disclosure import Audience, content_audience
from egress_review.domain.exceptions import ContentWithheld, NotReleased, ReasonRequired
from egress_review.domain.permissions import Principal, Scope
from egress_review.domain.states import RequestState
from egress_review.services.findings import for_author, place
from egress_review.services.views import request_detail, staged_file
from egress_review.storage.models import AuditEntry, Request
from harness.airlock_kit import analyst, make_env, operator, reviewer
from tests.support.airlock_states import create_request_at_status

MARKER = "m" + secrets.token_hex(8)


def quoting_checks(path, context):
    """A check that, like real rules can, quotes the file in its summary, message and location."""
    return [
        CheckResult(
            rule="small_counts",
            version="1",
            parameters={"small_count_threshold": 10},
            verdict=Verdict.FLAG,
            summary=f"1 count between 1 and 9 in column '{MARKER}'",
            findings=(Finding(f"count 3 is below 10 ({MARKER})", f"row 12, column 3 '{MARKER}'"),),
        )
    ]


@pytest.fixture
def env(tmp_path):
    e = make_env(tmp_path, checks=quoting_checks)
    yield e
    e.db.dispose()


def events(env, rid, event):
    with env.db.read() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.request_id == rid, AuditEntry.event == event)).scalars()
        return [json.loads(e.details) for e in rows]


class Req:
    def __init__(self, state, author="alice"):
        self.project, self.author, self.state = "p", author, state.value


EVERY_SCOPE = frozenset(s.value for s in Scope)


@pytest.mark.parametrize("state", list(RequestState))
def test_the_author_is_never_an_audience_whatever_their_scopes(state):
    assert content_audience(Principal("alice", EVERY_SCOPE), Req(state)) is Audience.NOBODY


@pytest.mark.parametrize(
    "state, audience",
    [
        (RequestState.DRAFT, Audience.NOBODY),
        (RequestState.SUBMITTED, Audience.REVIEWER),
        (RequestState.CHANGES_REQUESTED, Audience.REVIEWER),
        (RequestState.APPROVED, Audience.REVIEWER),
        (RequestState.RELEASED, Audience.REVIEWER),
        (RequestState.WITHDRAWN, Audience.NOBODY),
        (RequestState.REJECTED, Audience.NOBODY),
        (RequestState.REVOKED, Audience.NOBODY),
    ],
)
def test_reviewers_see_content_only_while_a_request_is_reviewed_or_released(state, audience):
    assert content_audience(reviewer("rita"), Req(state)) is audience


@pytest.mark.parametrize("state", [s for s in RequestState if s is not RequestState.DRAFT])
def test_operators_may_open_any_submitted_request(state):
    assert content_audience(operator(), Req(state)) is Audience.OPERATOR
    assert content_audience(analyst("bob"), Req(state)) is Audience.NOBODY


def test_the_author_view_of_a_check_keeps_places_and_drops_every_quoted_value():
    record = quoting_checks(None, None)[0].to_record()
    view = for_author(record)
    assert MARKER not in json.dumps(view)
    assert view["verdict"] == "flag" and view["rule"] == "small_counts" and view["parameters"] == record["parameters"]
    assert view["findings"] == [{"message": "a count below the threshold", "location": "row 12, column 3"}]


@pytest.mark.parametrize(
    "location, shown",
    [
        ("row 12, column 3 'n'", "row 12, column 3"),
        ("header, column 2", "header, column 2"),
        ("line 4", "line 4"),
        ("row 7", "row 7"),
        ("sum over rows with sex=female", ""),  # differencing names category values: dropped
        ("output 'uid-row 5' (table), files x.csv", ""),  # ACRO's ids are the file's text
        ("column 'row 99'", ""),  # a name that looks like a place is still a name
        ("", ""),
    ],
)
def test_only_the_structural_part_of_a_location_is_kept(location, shown):
    assert place(location) == shown


def test_the_author_sees_names_sizes_hashes_verdicts_and_places_but_no_quoted_value(env):
    content = f"g,{MARKER}\na,3\n"
    rid = create_request_at_status(env, RequestState.SUBMITTED, files={"t.csv": content})
    detail = request_detail(env.ctx, analyst(), rid)
    (staged,) = detail["staged_files"]
    assert MARKER not in json.dumps(detail)
    assert (staged["path"], staged["size_bytes"], staged["worst_verdict"]) == ("t.csv", len(content), "flag")
    assert staged["checks"][0]["findings"][0]["location"] == "row 12, column 3"
    assert detail["content"] == {"audience": "nobody", "shown": False}


def test_a_reviewer_sees_the_checks_in_full(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    detail = request_detail(env.ctx, reviewer("rita"), rid)
    assert MARKER in detail["staged_files"][0]["checks"][0]["summary"]
    assert detail["content"] == {"audience": "reviewer", "shown": True}


def test_an_operator_sees_content_only_with_a_reason_and_the_opening_is_audited(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.requests.withdraw(analyst(), rid)
    without = request_detail(env.ctx, operator(), rid)
    assert MARKER not in json.dumps(without) and without["content"] == {"audience": "operator", "shown": False}
    assert events(env, rid, "content.opened") == []
    opened = request_detail(env.ctx, operator(), rid, reason="incident 42: what did alice try to release?")
    assert MARKER in json.dumps(opened) and opened["content"]["shown"] is True
    (entry,) = events(env, rid, "content.opened")
    assert entry["reason"] == "incident 42: what did alice try to release?" and entry["what"] == "request"


def _file_id(env, rid):
    return request_detail(env.ctx, reviewer("rita"), rid)["staged_files"][0]["id"]


def test_file_content_is_refused_to_the_author_and_the_attempt_is_audited(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    fid = _file_id(env, rid)
    for reason in ("", "I wrote it"):
        with pytest.raises(ContentWithheld):
            staged_file(env.ctx, analyst(), rid, fid, reason)
    refused = events(env, rid, "action.refused")
    assert [(r["action"], r["error"]) for r in refused] == [("open_content", "content_withheld")] * 2
    meta, sha = staged_file(env.ctx, reviewer("rita"), rid, fid)
    assert env.staging.read_verified(sha) == b"group,n\na,12\nb,15\n"


def test_after_withdrawal_only_an_operator_with_a_reason_gets_file_content(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    fid = _file_id(env, rid)
    env.airlock.requests.withdraw(analyst(), rid)
    for person in (analyst(), reviewer("rita")):
        with pytest.raises(ContentWithheld):
            staged_file(env.ctx, person, rid, fid)
    with pytest.raises(ReasonRequired):
        staged_file(env.ctx, operator(), rid, fid, "  ")
    staged_file(env.ctx, operator(), rid, fid, "checking a report")
    assert events(env, rid, "content.opened")[-1] == {
        "what": "file",
        "staged_file_id": fid,
        "reason": "checking a report",
    }


def test_a_revoked_release_manifest_goes_to_operators_with_a_reason_only(env):
    rid = create_request_at_status(env, RequestState.RELEASED)
    assert env.airlock.releases.manifest(analyst(), rid)["manifest"]["request"]["id"] == rid  # released: as before
    env.airlock.releases.revoke(operator(), rid, "found a problem")
    for person in (analyst(), reviewer("rita")):
        with pytest.raises(ContentWithheld):
            env.airlock.releases.manifest(person, rid)
    with pytest.raises(ReasonRequired):
        env.airlock.releases.manifest(operator(), rid)
    assert env.airlock.releases.manifest(operator(), rid, "audit of the revocation")["manifest_sha256"]
    with pytest.raises(NotReleased):
        env.airlock.releases.manifest(analyst(), create_request_at_status(env, RequestState.SUBMITTED))


def test_a_state_change_cannot_be_faked_to_reach_content(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    with env.db.read() as s:
        assert s.get(Request, rid).author == "alice"
    with pytest.raises(ContentWithheld):  # alice with every scope is still the author
        staged_file(env.ctx, Principal("alice", EVERY_SCOPE), rid, _file_id(env, rid), "operator's reason")
