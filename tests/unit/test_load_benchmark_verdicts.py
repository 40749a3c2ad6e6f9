"""The load benchmark's verdicts can fail: a meter short of what a client received, a lost or doubled vote.

benchmarks/bench_load.py exits 1 on these verdicts; here they are given wrong inputs on purpose.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from multidict import CIMultiDict

from benchmarks.load_checks import compare_meter, exactly_once
from benchmarks.load_clients import head_bytes, metered_kind
from enclave.edge.headers import serialised_head

BEFORE = {"ana01": {"workspace": 100, "kernel": 0, "hub": 0, "airlock": 0}}


def test_a_meter_equal_to_what_the_clients_received_is_right():
    after = {"ana01": {"workspace": 600, "kernel": 70, "hub": 5, "airlock": 0}}
    verdict = compare_meter(BEFORE, after, {"ana01": {"workspace": 500, "kernel": 70, "hub": 5}}, had_errors=False)
    assert verdict["equal"] and verdict["right"] and verdict["metered_bytes"] == verdict["received_bytes"] == 575


def test_a_meter_short_of_what_a_client_received_is_wrong_even_after_errors():
    after = {"ana01": {"workspace": 600, "kernel": 69, "hub": 5, "airlock": 0}}
    received = {"ana01": {"workspace": 500, "kernel": 70, "hub": 5}}
    for had_errors in (False, True):
        verdict = compare_meter(BEFORE, after, received, had_errors)
        assert not verdict["right"] and verdict["undercounted"] == ["ana01/kernel: metered 69, received 70"]


def test_a_meter_above_what_was_received_is_wrong_unless_an_answer_was_cut_short():
    after = {"ana01": {"workspace": 601, "kernel": 70, "hub": 5, "airlock": 0}}
    received = {"ana01": {"workspace": 500, "kernel": 70, "hub": 5}}
    assert not compare_meter(BEFORE, after, received, had_errors=False)["right"]
    assert compare_meter(BEFORE, after, received, had_errors=True)["right"]


def records(votes: Counter, vote_audit: Counter, submitted_audit: Counter | None = None) -> dict:
    return {
        "submitted": {"r1": 1},
        "votes": votes,
        "submitted_audit": submitted_audit if submitted_audit is not None else Counter({"r1": 1}),
        "vote_audit": vote_audit,
        "audit_ids": [1, 2, 3],
    }


def test_each_submission_and_vote_recorded_once_is_right():
    votes = Counter({("r1", "rev1"): 1, ("r1", "rev2"): 1})
    verdict = exactly_once(
        records(votes, votes.copy()), Counter({1: 1, 2: 1, 3: 1}), {"r1": "ana01"}, {("r1", "rev1"), ("r1", "rev2")}
    )
    assert verdict["right"] and verdict["requests_fully_voted"] == 1


def test_a_lost_vote_a_doubled_submission_and_an_entry_forwarded_twice_are_wrong():
    votes = Counter({("r1", "rev1"): 1})
    verdict = exactly_once(
        records(votes, votes.copy(), Counter({"r1": 2})),
        Counter({1: 1, 2: 2, 3: 1}),
        {"r1": "ana01"},
        {("r1", "rev1"), ("r1", "rev2")},
    )
    assert not verdict["right"]
    assert verdict["lost"] == ["vote ('r1', 'rev2'): 0 rows, 0 audit entries"]
    assert verdict["doubled"] == ["submission r1: 2 audit entries", "airlock audit entry 2: in the enclave's log 2x"]


def test_the_clients_count_a_head_as_the_edge_meters_it():
    """What the edge meters (serialised_head) against what its HTTP server sends: the connection's own two
    headers added after metering."""
    headers = CIMultiDict([("Content-Type", "application/json"), ("Set-Cookie", "a=b; Secure"), ("Date", "x")])
    on_the_wire = [(k.encode(), v.encode()) for k, v in headers.items()] + [
        (b"Transfer-Encoding", b"chunked"),
        (b"Connection", b"close"),
    ]
    response = SimpleNamespace(status=200, reason="OK", raw_headers=on_the_wire)
    assert head_bytes(response) == len(serialised_head(200, "OK", headers))


def test_the_clients_know_which_answers_the_edge_meters():
    assert metered_kind("/user/ana01/load1/api/contents?content=1", {}) == "workspace"
    assert metered_kind("/user/ana01/load1/static/lab/main.js", {"X-Enclave-Edge": "static"}) is None
    assert metered_kind("/user/ana01/load1/api/nbconvert", {}) is None
    assert metered_kind("/services/egress-review/api/requests", {}) == "airlock"
    assert metered_kind("/hub/static/css/style.min.css", {}) is None
    assert metered_kind("/hub/home", {}) == "hub"
