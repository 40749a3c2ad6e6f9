"""Submission runs the real automatic checks (egress_review.checks.run_checks)
on the staged copies, under the files' own names, and stores their records."""

import pytest

from egress_review.directory import InMemoryProject
from egress_review.domain.exceptions import FileBlocked
from egress_review.domain.states import RequestState
from egress_review.services.context import default_checks_runner
from egress_review.services.views import request_detail
from harness.airlock_kit import PROJECT, analyst, make_env, reviewer
from tests.support.airlock_states import create_request_at_status


@pytest.fixture
def real_env(tmp_path):
    env = make_env(tmp_path, checks=default_checks_runner)
    project: InMemoryProject = env.directory.projects[PROJECT]
    project.identifiers = frozenset({"4810327"})
    yield env
    env.db.dispose()


def test_identifier_in_a_table_blocks_approval_with_the_real_checks(real_env):
    rid = create_request_at_status(real_env, RequestState.SUBMITTED, files={"tables/people.csv": "pid,n\n4810327,12\n"})
    [f] = request_detail(real_env.ctx, analyst(), rid)["staged_files"]
    verdicts = {c["rule"]: c["verdict"] for c in f["checks"]}
    assert verdicts["participant_identifiers"] == "block" and verdicts["file_type"] == "pass"
    assert f["blocked"]
    assert all({"rule", "version", "parameters", "verdict", "summary", "findings"} <= set(c) for c in f["checks"])
    with pytest.raises(FileBlocked):
        real_env.airlock.reviews.vote(reviewer("rita"), rid, "approve")


def test_clean_table_passes_and_small_counts_are_flagged_not_blocked(real_env):
    rid = create_request_at_status(real_env, RequestState.RELEASED, files={"tables/counts.csv": "group,n\na,12\nb,3\n"})
    [f] = request_detail(real_env.ctx, analyst(), rid)["staged_files"]
    verdicts = {c["rule"]: c["verdict"] for c in f["checks"]}
    assert verdicts["small_counts"] == "flag" and not f["blocked"]
    assert request_detail(real_env.ctx, analyst(), rid)["state"] == "released"


def test_an_executable_renamed_to_csv_is_blocked_by_content(real_env):
    rid = create_request_at_status(
        real_env, RequestState.SUBMITTED, files={"tables/counts.csv": b"\x7fELF\x02\x01\x01" + b"\x00" * 64}
    )
    [f] = request_detail(real_env.ctx, analyst(), rid)["staged_files"]
    assert {c["rule"]: c["verdict"] for c in f["checks"]}["file_type"] == "block"
