"""Reviewers' and operators' use cases: decide file by file (or on every file at once), comment,
override a block."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import permissions, policies
from ..domain.events import AuditEvent
from ..domain.exceptions import FileNotInRequest, InvalidInput, NothingToOverride, OwnRequestReview, RequestNotEditable
from ..domain.permissions import Principal, Scope
from ..domain.states import RequestState, VoteDecision
from ..domain.transitions import Action
from ..notify.queue import queue as queue_notices
from ..storage import audit
from ..storage.models import BlockOverride, Comment, FileDecision, Request, StagedFile, Vote, utcnow
from .context import AirlockContext, load_request, perform_transition
from .releases import ReleaseService
from .text import clean_text

_OUTCOME_ACTION = {
    VoteDecision.APPROVE: Action.APPROVE,
    VoteDecision.REQUEST_CHANGES: Action.REQUEST_CHANGES,
    VoteDecision.REJECT: Action.REJECT,
}


def parse_decision(value) -> VoteDecision:
    try:
        return VoteDecision(value)
    except ValueError:
        raise InvalidInput("A vote's decision is one of: " + ", ".join(d.value for d in VoteDecision) + ".") from None


def current_files(session: Session, req: Request) -> list[StagedFile]:
    return list(
        session.execute(
            select(StagedFile)
            .where(StagedFile.request_id == req.id, StagedFile.round == req.round)
            .order_by(StagedFile.id)
        ).scalars()
    )


def is_blocked(sf: StagedFile) -> bool:
    """Blocked: some check BLOCKs (or ERRORs) and no operator has overridden it."""
    from ..checks.types import Verdict

    return any(Verdict(c.verdict).blocks for c in sf.checks) and not sf.overrides


class ReviewService:
    def __init__(self, ctx: AirlockContext, releases: ReleaseService):
        self.ctx = ctx
        self.releases = releases

    def decide(self, principal: Principal, request_id: str, staged_file_id, decision, reason: str = "") -> str:
        """One reviewer's decision on one file of the current round. Returns the request's state."""
        with self.ctx.refusals_audited(principal, "decide", request_id):
            decision = parse_decision(decision)
            reason = clean_text(reason, "reason", self.ctx.inputs.note_chars)
            with self.ctx.db.write() as session:
                req = self._votable(session, principal, request_id)
                policies.check_reason(decision, reason)
                sf = _file_of(session, req, staged_file_id)
                state = self._decide(session, principal, req, [sf], decision, reason)
        return self._released_if_approved(request_id, state)

    def vote(self, principal: Principal, request_id: str, decision, reason: str = "") -> str:
        """The same decision on every file of the round this reviewer has not decided yet."""
        with self.ctx.refusals_audited(principal, "vote", request_id):
            decision = parse_decision(decision)
            reason = clean_text(reason, "reason", self.ctx.inputs.note_chars)
            with self.ctx.db.write() as session:
                req = self._votable(session, principal, request_id)
                policies.check_reason(decision, reason)
                decided = {d.staged_file_id for d in _decisions(session, req) if d.reviewer == principal.name}
                files = [sf for sf in current_files(session, req) if sf.id not in decided]
                state = self._decide(session, principal, req, files, decision, reason)
        return self._released_if_approved(request_id, state)

    def _votable(self, session: Session, principal: Principal, request_id: str) -> Request:
        req = load_request(session, request_id)
        permissions.check_can_view(principal, req)
        permissions.check_can_review(principal, req)
        policies.check_votable(RequestState(req.state))
        votes = session.execute(select(Vote.reviewer).where(Vote.request_id == req.id, Vote.round == req.round))
        policies.check_not_voted(votes.scalars(), principal.name)
        return req

    def _decide(
        self, session: Session, principal: Principal, req: Request, files: list[StagedFile], decision, reason: str
    ) -> RequestState:
        """Record the decisions; complete the reviewer's review once every file has theirs; close the
        round once enough reviews are complete (policies.round_outcome)."""
        existing = _decisions(session, req)
        for sf in files:
            policies.check_not_decided(
                (d.reviewer for d in existing if d.staged_file_id == sf.id), principal.name, sf.path
            )
        if decision is VoteDecision.APPROVE:
            policies.check_no_blocked_files(sf.path for sf in files if is_blocked(sf))
        for sf in files:
            session.add(
                FileDecision(
                    request_id=req.id,
                    round=req.round,
                    staged_file_id=sf.id,
                    reviewer=principal.name,
                    decision=decision.value,
                    reason=reason,
                    created_at=utcnow(),
                )
            )
            audit.append(
                session,
                actor=principal.name,
                event=AuditEvent.FILE_DECIDED,
                request_id=req.id,
                details={
                    "round": req.round,
                    "staged_file_id": sf.id,
                    "path": sf.path,
                    "sha256": sf.sha256,
                    "decision": decision.value,
                    "reason": reason,
                },
            )
        session.flush()
        decisions = _decisions(session, req)
        round_files = current_files(session, req)
        mine = {d.staged_file_id: d for d in decisions if d.reviewer == principal.name}
        if all(sf.id in mine for sf in round_files):
            self._complete_review(session, principal, req, [mine[sf.id] for sf in round_files], round_files)
        complete = session.execute(
            select(func.count(Vote.id)).where(Vote.request_id == req.id, Vote.round == req.round)
        ).scalar_one()
        required = self.ctx.directory.approvals_required(req.project)
        by_file = [[VoteDecision(d.decision) for d in decisions if d.staged_file_id == sf.id] for sf in round_files]
        outcome = policies.round_outcome(by_file, complete, required)
        if outcome is not None:
            approved = sum(1 for ds in by_file if ds.count(VoteDecision.APPROVE) >= max(required, 1))
            transition = perform_transition(
                session,
                req,
                _OUTCOME_ACTION[outcome],
                principal.name,
                {
                    "reviews": complete,
                    "approvals_required": required,
                    "files": len(by_file),
                    "files_approved": approved,
                },
            )
            queue_notices(session, req, transition.event)  # changes requested or rejected: the author hears
        return RequestState(req.state)

    def _complete_review(
        self, session: Session, principal: Principal, req: Request, mine: list[FileDecision], files: list[StagedFile]
    ) -> None:
        overall = policies.overall_decision([VoteDecision(d.decision) for d in mine])
        reasons = {d.reason for d in mine if d.reason}
        if len(reasons) <= 1:
            reason = next(iter(reasons), "")
        else:
            reason = "; ".join(f"{sf.path}: {d.reason}" for sf, d in zip(files, mine) if d.reason)
        session.add(
            Vote(
                request_id=req.id,
                round=req.round,
                reviewer=principal.name,
                decision=overall.value,
                reason=reason,
                created_at=utcnow(),
            )
        )
        session.flush()
        audit.append(
            session,
            actor=principal.name,
            event=AuditEvent.VOTE_CAST,
            request_id=req.id,
            details={"round": req.round, "decision": overall.value, "reason": reason, "files": len(mine)},
        )

    def _released_if_approved(self, request_id: str, state: RequestState) -> str:
        if state is RequestState.APPROVED:
            state = self.releases.release_after_approval(request_id)
        return state.value

    def comment(self, principal: Principal, request_id: str, body: str, staged_file_id: int | None = None) -> int:
        with self.ctx.refusals_audited(principal, "comment", request_id):
            body = clean_text(body, "comment", self.ctx.inputs.note_chars, required=True)
            return self._comment(principal, request_id, body, staged_file_id)

    def _comment(self, principal: Principal, request_id: str, body: str, staged_file_id: int | None) -> int:
        with self.ctx.db.write() as session:
            req = load_request(session, request_id)
            permissions.check_can_view(principal, req)
            if not (permissions.can_be_author(principal, req) or permissions.can_review(principal, req)):
                permissions.check_can_review(principal, req)
            if RequestState(req.state) is RequestState.DRAFT:
                raise RequestNotEditable("Comments are for submitted requests; this one is still a draft.")
            if staged_file_id is not None:
                _file_of(session, req, staged_file_id)
            written = session.execute(
                select(func.count(Comment.id)).where(Comment.request_id == req.id, Comment.author == principal.name)
            ).scalar_one()
            self.ctx.inputs.check_comments(written + 1)
            c = Comment(
                request_id=req.id,
                round=req.round,
                staged_file_id=staged_file_id,
                author=principal.name,
                body=body,
                created_at=utcnow(),
            )
            session.add(c)
            session.flush()
            audit.append(
                session,
                actor=principal.name,
                event=AuditEvent.COMMENT_ADDED,
                request_id=req.id,
                details={"round": req.round, "staged_file_id": staged_file_id, "body": body},
            )
            return c.id

    def override_block(self, principal: Principal, request_id: str, staged_file_id: int, reason: str) -> None:
        """An operator lets a blocked file be approved, with a written reason (audited)."""
        with self.ctx.refusals_audited(principal, "override_block", request_id):
            reason = clean_text(reason, "reason", self.ctx.inputs.note_chars)
            self._override_block(principal, request_id, staged_file_id, reason)

    def _override_block(self, principal: Principal, request_id: str, staged_file_id: int, reason: str) -> None:
        with self.ctx.db.write() as session:
            req = load_request(session, request_id)
            permissions.check_can_operate(principal)
            permissions.check_can_view(principal, req)
            if principal.name == req.author:
                raise OwnRequestReview("You cannot override a block on your own request; ask another operator.")
            policies.check_votable(RequestState(req.state))
            policies.check_written_reason(reason, "overriding the block")
            sf = _file_of(session, req, staged_file_id)
            if not is_blocked(sf):
                raise NothingToOverride(f"'{sf.path}' is not blocked by any check; there is nothing to override.")
            from ..checks.types import Verdict

            rules = [c.rule for c in sf.checks if Verdict(c.verdict).blocks]
            session.add(
                BlockOverride(staged_file_id=sf.id, operator=principal.name, reason=reason, created_at=utcnow())
            )
            session.flush()
            audit.append(
                session,
                actor=principal.name,
                event=AuditEvent.BLOCK_OVERRIDDEN,
                request_id=req.id,
                details={
                    "staged_file_id": sf.id,
                    "path": sf.path,
                    "sha256": sf.sha256,
                    "rules": rules,
                    "reason": reason,
                },
            )
            queue_notices(session, req, AuditEvent.BLOCK_OVERRIDDEN)  # the operators hear of it


def _decisions(session: Session, req: Request) -> list[FileDecision]:
    """Every reviewer's decisions on the files of the request's current round."""
    return list(
        session.execute(
            select(FileDecision)
            .where(FileDecision.request_id == req.id, FileDecision.round == req.round)
            .order_by(FileDecision.id)
        ).scalars()
    )


def _file_of(session: Session, req: Request, staged_file_id) -> StagedFile:
    if not isinstance(staged_file_id, int) or isinstance(staged_file_id, bool):
        raise InvalidInput("A file id is a whole number.")
    sf = session.get(StagedFile, staged_file_id)
    if sf is None or sf.request_id != req.id or sf.round != req.round:
        raise FileNotInRequest("That file is not in the current round of this request. Reload the page.")
    return sf


__all__ = ["ReviewService", "parse_decision", "is_blocked", "current_files", "Scope"]
