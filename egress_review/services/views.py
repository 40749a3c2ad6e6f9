"""What a person may see of a request: the one place that applies blinding.

Both the JSON API and the pages render these dictionaries, so "a reviewer
does not see how other reviewers decided before deciding" holds for both.
Decisions, votes and reviewers' comments of the current round are shown only
once the round is closed, or to a reviewer who has decided every file of it;
a file's count of approvals is shown to everyone but a reviewer who has not
decided that file yet.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ..checks.types import Verdict
from ..domain import permissions, policies
from ..domain.permissions import Principal, Scope
from ..domain.states import RequestState, VoteDecision
from ..domain.transitions import Action, can_transition
from ..storage.models import Comment, FileDecision, Release, Request, Revocation, StagedFile, Vote
from . import findings
from .content import content_access, open_content
from .context import AirlockContext, load_request
from .reviews import is_blocked


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def summary(req: Request) -> dict[str, Any]:
    return {
        "id": req.id,
        "project": req.project,
        "author": req.author,
        "title": req.title,
        "state": req.state,
        "round": req.round,
        "created_at": _iso(req.created_at),
        "updated_at": _iso(req.updated_at),
        "submitted_at": _iso(req.submitted_at),
        "decided_at": _iso(req.decided_at),
    }


def list_requests(ctx: AirlockContext, principal: Principal, view: str) -> list[dict[str, Any]]:
    """``mine``: the caller's own requests; ``queue``: requests awaiting the caller's
    vote; ``all``: every non-draft request (reviewers and operators)."""
    with ctx.db.read() as session:
        if view == "mine":
            permissions.check_scope(principal, Scope.REQUEST)
            rows = session.execute(
                select(Request).where(Request.author == principal.name).order_by(Request.updated_at.desc())
            ).scalars()
            return [summary(r) for r in rows]
        if view == "queue":
            permissions.check_scope(principal, Scope.REVIEW)
            rows = session.execute(
                select(Request)
                .where(Request.state == RequestState.SUBMITTED.value, Request.author != principal.name)
                .order_by(Request.submitted_at)
            ).scalars()
            out = []
            for r in rows:
                voted = session.execute(
                    select(Vote.id).where(
                        Vote.request_id == r.id, Vote.round == r.round, Vote.reviewer == principal.name
                    )
                ).first()
                out.append({**summary(r), "you_voted": voted is not None})
            return out
        # "all"
        if not (principal.has(Scope.REVIEW) or principal.has(Scope.OPERATE)):
            permissions.check_scope(principal, Scope.REVIEW)
        rows = session.execute(
            select(Request).where(Request.state != RequestState.DRAFT.value).order_by(Request.updated_at.desc())
        ).scalars()
        return [summary(r) for r in rows]


def request_detail(ctx: AirlockContext, principal: Principal, request_id: str, reason: str = "") -> dict[str, Any]:
    """Everything this person may see of a request. Check details that may quote the files go only to
    those who get content (domain/disclosure.py; an operator with ``reason``, audited)."""
    audience, shown = content_access(ctx, principal, request_id, reason, "request")
    checks_view = _full_checks if shown else _author_checks
    with ctx.db.read() as session:
        req = load_request(session, request_id)
        permissions.check_can_view(principal, req)
        state = RequestState(req.state)
        votes = list(session.execute(select(Vote).where(Vote.request_id == req.id).order_by(Vote.id)).scalars())
        my_vote = next((v for v in votes if v.round == req.round and v.reviewer == principal.name), None)
        current_round_open = state is RequestState.SUBMITTED
        sees_current = not current_round_open or my_vote is not None

        def visible_vote(v: Vote) -> bool:
            return v.round < req.round or sees_current

        staged = list(
            session.execute(
                select(StagedFile).where(StagedFile.request_id == req.id).order_by(StagedFile.round, StagedFile.id)
            ).scalars()
        )
        current = [sf for sf in staged if sf.round == req.round]
        comments = list(
            session.execute(select(Comment).where(Comment.request_id == req.id).order_by(Comment.id)).scalars()
        )

        def visible_comment(c: Comment) -> bool:
            return c.author == principal.name or c.author == req.author or c.round < req.round or sees_current

        release = session.get(Release, req.id)
        revocation = session.get(Revocation, req.id)
        required = max(ctx.directory.approvals_required(req.project), 1)
        decisions = list(
            session.execute(
                select(FileDecision).where(FileDecision.request_id == req.id).order_by(FileDecision.id)
            ).scalars()
        )
        reviews_done = sum(1 for v in votes if v.round == req.round)
        may_decide = permissions.can_review(principal, req) and current_round_open

        def file_view(sf: StagedFile) -> dict[str, Any]:
            return {
                **_staged(sf, checks_view),
                **_file_review(
                    [d for d in decisions if d.staged_file_id == sf.id], principal, required, sees_current, may_decide
                ),
                "unchanged_since": _unchanged_since(sf, staged, decisions),
            }

        detail = summary(req)
        detail.update(
            {
                "approvals_required": required,
                "reviews_done": reviews_done if current_round_open else None,
                "groups": [
                    {
                        "name": g.name,
                        "context": g.context,
                        "controls": g.controls,
                        "files": [
                            {"id": f.id, "path": f.path, "comment": f.comment} for f in req.files if f.group_id == g.id
                        ],
                    }
                    for g in req.groups
                ],
                "staged_files": [file_view(sf) for sf in current],
                "content": {"audience": audience.value, "shown": shown},
                "your_vote": None if my_vote is None else _vote(my_vote),
                "votes_hidden": not sees_current,
                "votes": [_vote(v) for v in votes if visible_vote(v)],
                "comments": [_comment(c) for c in comments if visible_comment(c)],
                "release": None
                if release is None
                else {"released_at": _iso(release.released_at), "manifest_sha256": release.manifest_sha256},
                "revocation": None
                if revocation is None
                else {"operator": revocation.operator, "reason": revocation.reason, "at": _iso(revocation.created_at)},
                "allowed_actions": _allowed_actions(ctx, principal, req, state, my_vote, current),
            }
        )
        return detail


def project_of(ctx: AirlockContext, principal: Principal, request_id: str) -> str | None:
    """The project of a request this person can see (None otherwise)."""
    with ctx.db.read() as session:
        req = load_request(session, request_id)
        return req.project if permissions.can_view(principal, req) else None


def staged_file(
    ctx: AirlockContext, principal: Principal, request_id: str, staged_file_id: int, reason: str = ""
) -> tuple[dict, str]:
    """Metadata and blob hash of one file of the current round, for previews: only for those who get
    content (refused and audited otherwise; an operator's opening is audited with the reason)."""
    open_content(ctx, principal, request_id, reason, "file", staged_file_id)
    with ctx.db.read() as session:
        req = load_request(session, request_id)
        permissions.check_can_view(principal, req)
        sf = session.get(StagedFile, staged_file_id)
        if sf is None or sf.request_id != req.id:
            from ..domain.exceptions import FileNotInRequest

            raise FileNotInRequest("That file is not in this request. Reload the page.")
        return _staged(sf, _full_checks), sf.sha256


def _full_checks(sf: StagedFile) -> list[dict[str, Any]]:
    return [json.loads(c.record) for c in sf.checks]


def _author_checks(sf: StagedFile) -> list[dict[str, Any]]:
    return [findings.for_author(record) for record in _full_checks(sf)]


def _staged(sf: StagedFile, checks_view) -> dict[str, Any]:
    checks = checks_view(sf)
    return {
        "id": sf.id,
        "round": sf.round,
        "path": sf.path,
        "group": sf.group_name,
        "comment": sf.comment,
        "sha256": sf.sha256,
        "size_bytes": sf.size_bytes,
        "staged_at": _iso(sf.staged_at),
        "checks": checks,
        "worst_verdict": _worst(c["verdict"] for c in checks),
        "blocked": is_blocked(sf),
        "overrides": [{"operator": o.operator, "reason": o.reason, "at": _iso(o.created_at)} for o in sf.overrides],
    }


_ORDER = [Verdict.PASS, Verdict.FLAG, Verdict.ERROR, Verdict.BLOCK]


def _worst(verdicts) -> str:
    worst = Verdict.PASS
    for v in verdicts:
        v = Verdict(v)
        if _ORDER.index(v) > _ORDER.index(worst):
            worst = v
    return worst.value


def _file_review(
    decisions: list[FileDecision], principal: Principal, required: int, sees_current: bool, may_decide: bool
) -> dict[str, Any]:
    """A file's review: everyone sees its progress ("1 of 2 approvals", never who), except a reviewer
    who has not decided it yet (reviewers decide independently); who decided what is shown once the
    round is closed, or to a reviewer whose review of the round is complete."""
    mine = next((d for d in decisions if d.reviewer == principal.name), None)
    undecided_reviewer = may_decide and mine is None and not sees_current
    return {
        "approvals": None
        if undecided_reviewer
        else sum(1 for d in decisions if d.decision == VoteDecision.APPROVE.value),
        "approvals_required": required,
        "your_decision": None if mine is None else _decision(mine),
        "decisions": [_decision(d) for d in decisions] if sees_current else [],
    }


def _unchanged_since(sf: StagedFile, staged: list[StagedFile], decisions: list[FileDecision]) -> dict[str, Any] | None:
    """The previous round's copy of this file when its bytes are the same (a replaced file has none):
    the round and how many approvals it had there, so a reviewer sees what they are asked again."""
    earlier = [e for e in staged if e.round == sf.round - 1 and e.path == sf.path and e.sha256 == sf.sha256]
    if not earlier:
        return None
    approvals = sum(
        1 for d in decisions if d.staged_file_id == earlier[0].id and d.decision == VoteDecision.APPROVE.value
    )
    return {"round": earlier[0].round, "approvals": approvals}


def _decision(d: FileDecision) -> dict[str, Any]:
    return {"reviewer": d.reviewer, "decision": d.decision, "reason": d.reason, "at": _iso(d.created_at)}


def _vote(v: Vote) -> dict[str, Any]:
    return {
        "reviewer": v.reviewer,
        "round": v.round,
        "decision": v.decision,
        "reason": v.reason,
        "at": _iso(v.created_at),
    }


def _comment(c: Comment) -> dict[str, Any]:
    return {
        "id": c.id,
        "round": c.round,
        "author": c.author,
        "staged_file_id": c.staged_file_id,
        "body": c.body,
        "at": _iso(c.created_at),
    }


def _allowed_actions(ctx, principal: Principal, req: Request, state: RequestState, my_vote, current) -> list[str]:
    """What the page should offer this person (the services still check everything)."""
    actions: list[str] = []
    is_author = permissions.can_be_author(principal, req)
    if is_author and principal.has(Scope.REQUEST):
        member = permissions.can_request_for(principal, req.project, ctx.directory)
        if member and policies.can_edit(state):
            actions += ["edit", "submit"]
        if can_transition(state, Action.WITHDRAW):
            actions.append("withdraw")
        if state is RequestState.RELEASED and member:
            actions.append("download")
    if permissions.can_review(principal, req) and policies.can_vote_in(state) and my_vote is None:
        actions.append("vote")
        if not any(is_blocked(sf) for sf in current):
            actions.append("approve")
    if state is not RequestState.DRAFT and (is_author or permissions.can_review(principal, req)):
        actions.append("comment")
    if permissions.can_operate(principal) and not is_author:
        if policies.can_vote_in(state) and any(is_blocked(sf) for sf in current):
            actions.append("override_block")
        if can_transition(state, Action.REVOKE):
            actions.append("revoke")
        if can_transition(state, Action.RELEASE):
            actions.append("release")
    return actions


__all__ = ["summary", "list_requests", "request_detail", "staged_file", "VoteDecision"]
