"""Requests in any state, reached through the airlock's real services and transitions (like OpenSAFELY
airlock's ``create_request_at_status``), on an airlock from harness/airlock_kit.py; and checks that block
the files a test names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from egress_review.checks.types import CheckContext, CheckResult, Finding, Verdict
from egress_review.domain.permissions import Principal
from egress_review.domain.states import RequestState
from egress_review.services.views import request_detail
from harness.airlock_kit import PROJECT, Env, analyst, operator, passing_checks, reviewer


def blocking_checks(block_names: Iterable[str]) -> Callable[[Path, CheckContext], list[CheckResult]]:
    """Checks that BLOCK any file whose name is in ``block_names`` and pass the rest."""
    names = set(block_names)

    def run(path: Path, context: CheckContext) -> list[CheckResult]:
        if path.name in names:
            return [
                CheckResult(
                    rule="fake_block",
                    version="2",
                    parameters={"names": sorted(names)},
                    verdict=Verdict.BLOCK,
                    summary="blocked for the test",
                    findings=(Finding("identifier found", "row 1, column 'id'"),),
                )
            ]
        return passing_checks(path, context)

    return run


DEFAULT_FILES = {"tables/counts.csv": "group,n\na,12\nb,15\n"}


def create_request_at_status(
    env: Env,
    state: RequestState,
    *,
    author: Principal | None = None,
    project: str = PROJECT,
    files: dict[str, bytes | str] | None = None,
    reviewers: tuple[str, ...] = ("rita", "ravi"),
) -> str:
    """A request in ``state``, reached through the real services and transitions."""
    author = author or analyst()
    files = DEFAULT_FILES if files is None else files
    a = env.airlock
    request_id = a.requests.create(author, project, title=f"test request ({state.value})")
    a.requests.save_group(author, request_id, "main", context="Counts by group", controls="Suppressed n < 10")
    for relpath, content in files.items():
        env.write_outbox(relpath, content, project=project, user=author.name)
        a.requests.add_file(author, request_id, relpath, "main", comment=f"about {relpath}")
    if state is RequestState.DRAFT:
        return request_id
    if state is RequestState.WITHDRAWN:
        a.requests.withdraw(author, request_id)
        return request_id
    a.requests.submit(author, request_id)
    if state is RequestState.SUBMITTED:
        return request_id
    required = env.directory.approvals_required(project)
    decisions = {
        RequestState.CHANGES_REQUESTED: "request_changes",
        RequestState.REJECTED: "reject",
    }.get(state, "approve")
    for i in range(required):
        a.reviews.vote(
            reviewer(reviewers[i]), request_id, decisions, reason="" if decisions == "approve" else "because"
        )
    if state in (RequestState.CHANGES_REQUESTED, RequestState.REJECTED, RequestState.RELEASED):
        return request_id
    if state is RequestState.APPROVED:
        raise ValueError("APPROVED is transient here: releasing follows approval at once (use a failing release)")
    if state is RequestState.REVOKED:
        a.releases.revoke(operator(), request_id, reason="released by mistake")
        return request_id
    raise ValueError(f"no recipe for {state}")


def create_request_touching_every_table(env: Env) -> str:
    """A request that went through every fact table: checks, a block override,
    comments, votes, release and revocation."""
    env.airlock.ctx.run_checks = blocking_checks({"counts.csv"})
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    fid = request_detail(env.ctx, analyst(), rid)["staged_files"][0]["id"]
    env.airlock.reviews.comment(reviewer("rita"), rid, "synthetic ids?", fid)
    env.airlock.reviews.override_block(operator(), rid, fid, "synthetic ids")
    env.airlock.reviews.vote(reviewer("rita"), rid, "approve")
    env.airlock.reviews.vote(reviewer("ravi"), rid, "approve")
    env.airlock.releases.revoke(operator(), rid, "policy changed")
    env.airlock.ctx.run_checks = passing_checks
    return rid
