"""Release (manifest), download (author only, hash re-checked, audited), revoke."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select

from ..domain import permissions, policies
from ..domain.events import AuditEvent
from ..domain.exceptions import EgressError, FileNotInRequest, IntegrityFailure, InvalidInput, NotReleased
from ..domain.permissions import Principal
from ..domain.states import RequestState
from ..domain.transitions import Action, check_transition
from ..notify.queue import queue as queue_notices
from ..storage import audit
from ..storage.models import FileDecision, Release, Request, Revocation, StagedFile, Vote, utcnow
from .content import open_content
from .context import AirlockContext, load_request, perform_transition

log = logging.getLogger("egress_review")
SYSTEM = "egress-review"
MANIFEST_VERSION = 2  # 2: each file lists the reviewers' decisions on it


@dataclass(frozen=True)
class Download:
    filename: str
    sha256: str
    content: bytes


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


class ReleaseService:
    def __init__(self, ctx: AirlockContext):
        self.ctx = ctx

    def release_after_approval(self, request_id: str) -> RequestState:
        """Called by the service right after approval. A failure leaves the
        request APPROVED (audited) for an operator to retry."""
        try:
            self._release(SYSTEM, request_id)
        except EgressError as exc:
            log.error("release of %s failed: %s", request_id, exc.message)
            self.ctx.audit_refusal(SYSTEM, "release", request_id, exc)
            return RequestState.APPROVED
        return RequestState.RELEASED

    def resume(self) -> list[str]:
        """At start-up: release what was approved but not yet released when the service stopped (a crash
        between the deciding vote's commit and the release). Returns the ids, each released or audited."""
        with self.ctx.db.read() as session:
            waiting = list(
                session.execute(select(Request.id).where(Request.state == RequestState.APPROVED.value)).scalars()
            )
        for request_id in waiting:
            log.warning("releasing %s, approved before the airlock stopped", request_id)
            self.release_after_approval(request_id)
        return waiting

    def release(self, principal: Principal, request_id: str) -> None:
        """An operator retries the release of an APPROVED request."""
        with self.ctx.refusals_audited(principal, "release", request_id):
            permissions.check_can_operate(principal)
            self._release(principal.name, request_id)

    def _release(self, actor: str, request_id: str) -> None:
        with self.ctx.db.read() as session:
            req = load_request(session, request_id)
            check_transition(RequestState(req.state), Action.RELEASE)
            files = list(
                session.execute(
                    select(StagedFile)
                    .where(StagedFile.request_id == req.id, StagedFile.round == req.round)
                    .order_by(StagedFile.id)
                ).scalars()
            )
            for sf in files:
                if not self.ctx.staging.verify(sf.sha256):
                    raise IntegrityFailure(
                        f"The staged copy of '{sf.path}' does not match the hash that was reviewed, so the request "
                        "was not released. An operator must investigate."
                    )
            votes = list(
                session.execute(
                    select(Vote).where(Vote.request_id == req.id, Vote.round == req.round).order_by(Vote.id)
                ).scalars()
            )
            decisions = list(
                session.execute(
                    select(FileDecision)
                    .where(FileDecision.request_id == req.id, FileDecision.round == req.round)
                    .order_by(FileDecision.id)
                ).scalars()
            )
            released_at = utcnow()
            manifest = {
                "manifest_version": MANIFEST_VERSION,
                "request": {
                    "id": req.id,
                    "project": req.project,
                    "author": req.author,
                    "title": req.title,
                    "round": req.round,
                    "created_at": _iso(req.created_at),
                    "submitted_at": _iso(req.submitted_at),
                    "approved_at": _iso(req.decided_at),
                },
                "released_at": released_at.isoformat(),
                "groups": [
                    {"name": g.name, "context": g.context, "controls": g.controls}
                    for g in req.groups
                    if any(sf.group_name == g.name for sf in files)
                ],
                "files": [
                    {
                        "id": sf.id,
                        "path": sf.path,
                        "group": sf.group_name,
                        "comment": sf.comment,
                        "sha256": sf.sha256,
                        "size_bytes": sf.size_bytes,
                        "staged_at": _iso(sf.staged_at),
                        "checks": [json.loads(c.record) for c in sf.checks],
                        "overrides": [
                            {"operator": o.operator, "reason": o.reason, "at": _iso(o.created_at)} for o in sf.overrides
                        ],
                        "decisions": [
                            {
                                "reviewer": d.reviewer,
                                "decision": d.decision,
                                "reason": d.reason,
                                "at": _iso(d.created_at),
                            }
                            for d in decisions
                            if d.staged_file_id == sf.id
                        ],
                    }
                    for sf in files
                ],
                "approvals": [
                    {"reviewer": v.reviewer, "decision": v.decision, "reason": v.reason, "at": _iso(v.created_at)}
                    for v in votes
                ],
            }
            round_ = req.round
        content = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")
        digest = hashlib.sha256(content).hexdigest()
        self.ctx.staging.write_manifest(request_id, content)
        with self.ctx.db.write() as session:
            req = load_request(session, request_id)
            if req.round != round_:
                raise NotReleased("The request changed while it was being released; reload the page.")
            session.add(
                Release(
                    request_id=req.id,
                    round=req.round,
                    manifest=content.decode("utf-8"),
                    manifest_sha256=digest,
                    released_at=released_at,
                )
            )
            transition = perform_transition(session, req, Action.RELEASE, actor, {"manifest_sha256": digest})
            queue_notices(session, req, transition.event)  # the author hears of it

    def download(self, principal: Principal, request_id: str, staged_file_id) -> Download:
        with self.ctx.refusals_audited(principal, "download", request_id):
            if not isinstance(staged_file_id, int) or isinstance(staged_file_id, bool):
                raise InvalidInput("A file id is a whole number.")
            with self.ctx.db.read() as session:
                req = load_request(session, request_id)
                permissions.check_can_view(principal, req)
                permissions.check_can_download(principal, req, self.ctx.directory)
                policies.check_downloadable(RequestState(req.state))
                release = session.get(Release, req.id)
                sf = session.get(StagedFile, staged_file_id)
                if release is None or sf is None or sf.request_id != req.id or sf.round != release.round:
                    raise FileNotInRequest("That file is not part of this release. Reload the page.")
                sha, path = sf.sha256, sf.path
            content = self.ctx.staging.read_verified(sha)
            with self.ctx.db.write() as session:
                req = load_request(session, request_id)
                policies.check_downloadable(RequestState(req.state))  # not revoked meanwhile
                audit.append(
                    session,
                    actor=principal.name,
                    event=AuditEvent.FILE_DOWNLOADED,
                    request_id=req.id,
                    details={"staged_file_id": staged_file_id, "path": path, "sha256": sha, "size_bytes": len(content)},
                )
            return Download(filename=path.rsplit("/", 1)[-1], sha256=sha, content=content)

    def revoke(self, principal: Principal, request_id: str, reason: str) -> None:
        from .text import clean_text

        with self.ctx.refusals_audited(principal, "revoke", request_id):
            reason = clean_text(reason, "reason", self.ctx.inputs.note_chars)
            self._revoke(principal, request_id, reason)

    def _revoke(self, principal: Principal, request_id: str, reason: str) -> None:
        with self.ctx.db.write() as session:
            req = load_request(session, request_id)
            permissions.check_can_operate(principal)
            permissions.check_can_view(principal, req)
            check_transition(RequestState(req.state), Action.REVOKE)
            policies.check_written_reason(reason, "revoking the release")
            session.add(Revocation(request_id=req.id, operator=principal.name, reason=reason, created_at=utcnow()))
            perform_transition(session, req, Action.REVOKE, principal.name, {"reason": reason})

    def manifest(self, principal: Principal, request_id: str, reason: str = "") -> dict:
        """The release manifest: for everyone who sees the request while it is released. Once revoked,
        its check records (which may quote the files) are content: operators only, with a reason."""
        with self.ctx.db.read() as session:
            req = load_request(session, request_id)
            permissions.check_can_view(principal, req)
            release = session.get(Release, req.id)
            if release is None:
                raise NotReleased("This request has not been released, so it has no release manifest yet.")
            revoked = RequestState(req.state) is not RequestState.RELEASED
            answer = {"manifest_sha256": release.manifest_sha256, "manifest": json.loads(release.manifest)}
        if revoked:
            open_content(self.ctx, principal, request_id, reason, "manifest")
        return answer
