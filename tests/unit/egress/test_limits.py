"""Everything an analyst types or creates is capped, with a refusal that names the field and its
limit, is audited, and leaves nothing half-written."""

import json

import pytest
from sqlalchemy import func, select

from egress_review.config import EgressReview
from egress_review.domain.exceptions import LimitReached, TextTooLong
from egress_review.domain.limits import InputLimits
from egress_review.domain.states import RequestState
from egress_review.services.views import request_detail
from egress_review.storage.models import AuditEntry, Comment, FileGroup, Request
from harness.airlock_kit import PROJECT, analyst, make_env, operator, reviewer
from tests.support.airlock_states import create_request_at_status


def last_refusal(env) -> dict:
    with env.db.read() as s:
        entry = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
        assert (entry.event, entry.outcome) == ("action.refused", "refused")
        return json.loads(entry.details)


def count(env, model) -> int:
    with env.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_default_caps():
    assert InputLimits() == InputLimits(
        title_chars=200,
        name_chars=100,
        description_chars=4000,
        note_chars=2000,
        path_chars=200,
        groups_per_request=20,
        open_requests_per_person=20,
        comments_per_person_per_request=100,
    )


def test_the_caps_are_settings_of_the_airlock():
    cfg = EgressReview(max_title_chars=50, max_description_chars=60, max_note_chars=70, max_open_requests=3)
    limits = cfg.input_limits()
    assert (limits.title_chars, limits.description_chars, limits.note_chars) == (50, 60, 70)
    assert limits.open_requests_per_person == 3 and limits.name_chars == 100
    assert EgressReview().input_limits() == InputLimits()


def test_an_overlong_title_is_refused_naming_the_field_and_its_limit(env):
    with pytest.raises(TextTooLong) as err:
        env.airlock.requests.create(analyst(), PROJECT, "t" * 201)
    assert (
        "'title'" in err.value.message and "201 characters" in err.value.message and "limit is 200" in err.value.message
    )
    assert count(env, Request) == 0
    assert last_refusal(env)["error"] == "text_too_long"
    env.airlock.requests.create(analyst(), PROJECT, "t" * 200)  # at the limit: fine


@pytest.mark.parametrize(
    "field, kwargs, limit",
    [
        ("context", {"context": "c" * 4001}, 4000),
        ("controls", {"controls": "k" * 4001}, 4000),
        ("group name", {"name": "n" * 101}, 100),
    ],
)
def test_overlong_group_fields_are_refused_and_nothing_is_saved(env, field, kwargs, limit):
    rid = env.airlock.requests.create(analyst(), PROJECT)
    args = {"name": "g", "context": "c", "controls": "k", **kwargs}
    with pytest.raises(TextTooLong) as err:
        env.airlock.requests.save_group(analyst(), rid, **args)
    assert f"'{field}'" in err.value.message and f"limit is {limit:,}" in err.value.message
    assert count(env, FileGroup) == 0
    assert last_refusal(env)["action"] == "save_group"


def test_an_existing_group_keeps_its_text_when_an_overlong_edit_is_refused(env):
    rid = env.airlock.requests.create(analyst(), PROJECT)
    env.airlock.requests.save_group(analyst(), rid, "g", "before", "controls")
    with pytest.raises(TextTooLong):
        env.airlock.requests.save_group(analyst(), rid, "g", "x" * 5000, "controls")
    assert request_detail(env.ctx, analyst(), rid)["groups"][0]["context"] == "before"


def test_an_overlong_file_note_or_path_is_refused(env):
    rid = env.airlock.requests.create(analyst(), PROJECT)
    env.write_outbox("a.csv", "x,y\n")
    with pytest.raises(TextTooLong) as err:
        env.airlock.requests.add_file(analyst(), rid, "a.csv", "g", comment="n" * 2001)
    assert "'comment'" in err.value.message and "limit is 2,000" in err.value.message
    long_path = "d/" * 100 + "a.csv"
    with pytest.raises(TextTooLong) as err:
        env.airlock.requests.add_file(analyst(), rid, long_path, "g")
    assert "'path'" in err.value.message and "limit is 200" in err.value.message
    assert long_path not in err.value.message  # the refused name is not echoed back
    assert request_detail(env.ctx, analyst(), rid)["groups"] == []


def test_overlong_comments_and_reasons_are_refused(env):
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    for call in (
        lambda: env.airlock.reviews.comment(analyst(), rid, "c" * 2001),
        lambda: env.airlock.reviews.vote(reviewer("rita"), rid, "reject", "r" * 2001),
    ):
        with pytest.raises(TextTooLong) as err:
            call()
        assert "limit is 2,000" in err.value.message
    assert count(env, Comment) == 0
    assert request_detail(env.ctx, reviewer("ravi"), rid)["state"] == "submitted"
    released = create_request_at_status(env, RequestState.RELEASED)
    with pytest.raises(TextTooLong):
        env.airlock.releases.revoke(operator(), released, "r" * 2001)
    assert request_detail(env.ctx, operator(), released)["state"] == "released"


def test_a_person_has_a_limited_number_of_open_requests(tmp_path):
    env = make_env(tmp_path, inputs=InputLimits(open_requests_per_person=2))
    first = env.airlock.requests.create(analyst(), PROJECT)
    env.airlock.requests.create(analyst(), PROJECT)
    with pytest.raises(LimitReached) as err:
        env.airlock.requests.create(analyst(), PROJECT)
    assert "at most 2 open requests" in err.value.message
    assert last_refusal(env)["error"] == "limit_reached"
    env.airlock.requests.create(analyst("bob"), PROJECT)  # per person
    env.airlock.requests.withdraw(analyst(), first)  # a finished request frees its place
    env.airlock.requests.create(analyst(), PROJECT)


def test_a_request_has_a_limited_number_of_groups(tmp_path):
    env = make_env(tmp_path, inputs=InputLimits(groups_per_request=2))
    rid = env.airlock.requests.create(analyst(), PROJECT)
    env.airlock.requests.save_group(analyst(), rid, "a")
    env.write_outbox("x.csv", "x,y\n")
    env.airlock.requests.add_file(analyst(), rid, "x.csv", "b")  # a new group name makes a group
    with pytest.raises(LimitReached):
        env.airlock.requests.save_group(analyst(), rid, "c")
    env.write_outbox("y.csv", "x,y\n")
    with pytest.raises(LimitReached):
        env.airlock.requests.add_file(analyst(), rid, "y.csv", "c")
    env.airlock.requests.save_group(analyst(), rid, "a", "edited", "still fine")  # editing is not adding
    assert count(env, FileGroup) == 2


def test_a_person_writes_a_limited_number_of_comments_on_a_request(tmp_path):
    env = make_env(tmp_path, inputs=InputLimits(comments_per_person_per_request=2))
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.reviews.comment(analyst(), rid, "one")
    env.airlock.reviews.comment(analyst(), rid, "two")
    with pytest.raises(LimitReached):
        env.airlock.reviews.comment(analyst(), rid, "three")
    env.airlock.reviews.comment(reviewer("rita"), rid, "a reviewer's own allowance")
    assert count(env, Comment) == 3
