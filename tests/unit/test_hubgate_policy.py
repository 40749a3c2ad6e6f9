"""The hub gate's allowlist: which calls a workspace may make of the hub, judged on the canonical path."""

from __future__ import annotations

import pytest

from enclave.hubgate.policy import BODY_LIMIT, decide

OWNER = "alice"


@pytest.mark.parametrize(
    "method,path,forward",
    [
        ("GET", "/hub/api", "/hub/api"),
        ("GET", "/hub/api/", "/hub/api"),
        ("GET", "/hub/api/user", "/hub/api/user"),
        ("POST", "/hub/api/oauth2/token", "/hub/api/oauth2/token"),
        ("POST", "/hub/api/users/alice/activity", "/hub/api/users/alice/activity"),
        ("GET", "//hub/./api//user", "/hub/api/user"),  # what the hub would make of it, forwarded canonical
        ("GET", "/hub/%61pi/user", "/hub/api/user"),
    ],
)
def test_the_calls_a_jupyter_server_makes_pass_in_canonical_form(method, path, forward):
    decision = decide(method, path, "", OWNER, 0)
    assert decision.allowed, decision
    assert decision.forward_path == forward


def test_an_escaped_user_name_is_forwarded_escaped_as_the_hub_names_it():
    decision = decide("POST", "/hub/api/users/a%20b%40c/activity", "", "a b@c", 0)
    assert decision.allowed
    assert decision.forward_path == "/hub/api/users/a%20b@c/activity"


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/hub/api/users/alice/tokens"),  # a token note: megabytes stored in a hub record
        ("GET", "/hub/api/users/alice/tokens"),
        ("GET", "/hub/api/users"),
        ("GET", "/hub/api/users/alice"),
        ("POST", "/hub/api/users/alice/servers/alpha"),
        ("DELETE", "/hub/api/users/alice/servers/alpha"),
        ("POST", "/hub/api/users/alice/server"),
        ("PATCH", "/hub/api/users/alice"),
        ("GET", "/hub/api/groups"),
        ("POST", "/hub/api/groups/analyst/users"),
        ("GET", "/hub/api/services"),
        ("GET", "/hub/api/proxy"),
        ("GET", "/hub/api/info"),
        ("POST", "/hub/api/shutdown"),
        ("GET", "/hub/api/oauth2/authorize"),  # the browser's step, through the edge
        ("GET", "/hub/api/oauth2/token"),
        ("POST", "/hub/api/user"),
        ("POST", "/hub/api"),
        ("PUT", "/hub/api/users/alice/activity"),
        ("GET", "/hub/api/users/alice/activity"),
        ("GET", "/hub/login"),
        ("GET", "/hub/token"),
        ("GET", "/hub/home"),
        ("GET", "/user/alice/alpha/api/contents"),
        ("GET", "/services/egress-review/"),
        ("GET", "/"),
        ("GET", "/hub/api/user/extra"),
        ("GET", "/api/user"),
    ],
)
def test_everything_else_is_refused_whatever_the_token(method, path):
    decision = decide(method, path, "", OWNER, 0)
    assert not decision.allowed
    assert decision.reason == "route-not-allowed"
    assert "only the hub API its Jupyter server needs" in decision.message


@pytest.mark.parametrize(
    "path",
    [
        "/hub/api/users/alice/../bob/activity",
        "/hub/api/users/alice%2fx/activity",
        "/hub/api/users/alice%252e%252e/activity",
        "/hub/api/user%00",
        "/hub/api/%zz",
        "/hub/api\\user",
        "hub/api/user",
    ],
)
def test_ambiguous_paths_are_refused(path):
    decision = decide("GET", path, "", OWNER, 0)
    assert not decision.allowed
    assert decision.reason == "ambiguous-path"


def test_dot_dot_cannot_walk_from_an_allowed_path_to_another():
    for path in ("/hub/api/user/../users", "/hub/api/oauth2/token/../../users/alice/tokens"):
        assert decide("GET", path, "", OWNER, 0).reason == "ambiguous-path"


def test_activity_for_another_user_is_refused():
    decision = decide("POST", "/hub/api/users/bob/activity", "", OWNER, 0)
    assert not decision.allowed
    assert decision.reason == "activity-not-own"
    assert "its own user" in decision.message


def test_activity_from_a_source_that_is_no_known_workspace_is_refused():
    assert decide("POST", "/hub/api/users/alice/activity", "", None, 0).reason == "activity-not-own"


def test_query_strings_are_refused_even_on_allowed_paths():
    decision = decide("GET", "/hub/api/user", "token=abc", OWNER, 0)
    assert not decision.allowed
    assert decision.reason == "query-not-allowed"


def test_bodies_are_capped_and_a_get_carries_none():
    assert decide("POST", "/hub/api/oauth2/token", "", OWNER, BODY_LIMIT).allowed
    assert decide("POST", "/hub/api/oauth2/token", "", OWNER, BODY_LIMIT + 1).reason == "body-too-large"
    assert decide("POST", "/hub/api/oauth2/token", "", OWNER, None).allowed  # chunked: capped while reading
    assert decide("GET", "/hub/api/user", "", OWNER, 10).reason == "body-not-allowed"
    assert decide("GET", "/hub/api/user", "", OWNER, None).reason == "body-not-allowed"


def test_a_long_refused_path_is_shortened_for_the_record():
    decision = decide("POST", "/hub/api/users/alice/tokens/" + "x" * 10_000, "", OWNER, 0)
    assert not decision.allowed
    assert len(decision.route) <= 200
