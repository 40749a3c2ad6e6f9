"""Analysts' use cases: create a request, describe groups, add and remove
files, submit (stage + check), withdraw."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..checks.types import CheckContext, CheckResult
from ..domain import permissions, policies
from ..domain.events import AuditEvent
from ..domain.exceptions import ConcurrentChange, DuplicateFile, FileNotInRequest, InvalidInput, TextTooLong
from ..domain.permissions import Principal, Scope
from ..domain.states import RequestState
from ..domain.transitions import Action, check_transition
from ..notify.queue import queue as queue_notices
from ..staging import StagedBlob, inspect_outbox_file, normalise_relpath
from ..storage import audit
from ..storage.models import CheckRecord, FileGroup, Request, RequestFile, StagedFile, utcnow
from .context import AirlockContext, checks_unavailable, load_request, perform_transition
from .text import clean_text

MAX_PROJECT = 200  # a project's name is checked against the directory; this only bounds the lookup


@dataclass(frozen=True)
class _PlannedFile:
    file_id: int
    path: str
    group: str
    comment: str


class RequestService:
    def __init__(self, ctx: AirlockContext):
        self.ctx = ctx

    # --- drafting ---------------------------------------------------------------

    def create(self, principal: Principal, project: str, title: str = "") -> str:
        with self.ctx.refusals_audited(principal, "create_request"):
            project = clean_text(project, "project", MAX_PROJECT, required=True)
            title = clean_text(title, "title", self.ctx.inputs.title_chars)
            permissions.check_can_request_for(principal, project, self.ctx.directory)
            with self.ctx.db.write() as session:
                self.ctx.inputs.check_open_requests(_open_requests(session, principal.name) + 1)
                now = utcnow()
                req = Request(
                    id=uuid.uuid4().hex,
                    project=project,
                    author=principal.name,
                    title=title,
                    state=RequestState.DRAFT.value,
                    round=0,
                    created_at=now,
                    updated_at=now,
                )
                session.add(req)
                session.flush()
                audit.append(
                    session,
                    actor=principal.name,
                    event=AuditEvent.REQUEST_CREATED,
                    request_id=req.id,
                    details={"project": project, "title": title},
                )
                return req.id

    def create_with_files(
        self,
        principal: Principal,
        project: str,
        title: str,
        paths: list[str],
        group: str = "",
        context: str = "",
        controls: str = "",
    ) -> str:
        """The create page in one step: a draft with one group holding the chosen outbox files.
        Everything is checked before anything is written, so a refusal leaves nothing behind."""
        inputs = self.ctx.inputs
        with self.ctx.refusals_audited(principal, "create_request"):
            project = clean_text(project, "project", MAX_PROJECT, required=True)
            clean_text(title, "title", inputs.title_chars)
            group = clean_text(group, "group name", inputs.name_chars) or "Outputs"
            clean_text(context, "context", inputs.description_chars)
            clean_text(controls, "controls", inputs.description_chars)
            permissions.check_can_request_for(principal, project, self.ctx.directory)
            self.ctx.limits.check_file_count(len(paths))
            outbox = self.ctx.directory.outbox_path(project, principal.name)
            for path in paths:
                if isinstance(path, str) and len(path) > inputs.path_chars:
                    raise TextTooLong(
                        f"A file's path is over {inputs.path_chars:,} characters; give it a shorter name."
                    )
                inspect_outbox_file(outbox, normalise_relpath(path), self.ctx.limits)
        request_id = self.create(principal, project, title)
        if paths or context or controls:
            self.save_group(principal, request_id, group, context, controls)
        for path in paths:
            self.add_file(principal, request_id, path, group)
        return request_id

    def save_group(
        self, principal: Principal, request_id: str, name: str, context: str = "", controls: str = ""
    ) -> int:
        inputs = self.ctx.inputs
        with self.ctx.refusals_audited(principal, "save_group", request_id):
            name = clean_text(name, "group name", inputs.name_chars, required=True)
            context = clean_text(context, "context", inputs.description_chars)
            controls = clean_text(controls, "controls", inputs.description_chars)
            with self.ctx.db.write() as session:
                req = self._editable(session, principal, request_id)
                group = _group(session, req, name)
                if group is None:
                    inputs.check_groups(len(req.groups) + 1)
                    group = FileGroup(request_id=req.id, name=name, context=context, controls=controls)
                    session.add(group)
                else:
                    group.context, group.controls = context, controls
                req.updated_at = utcnow()
                session.flush()
                audit.append(
                    session,
                    actor=principal.name,
                    event=AuditEvent.GROUP_SAVED,
                    request_id=req.id,
                    details={"group": name, "context": context, "controls": controls},
                )
                return group.id

    def add_file(self, principal: Principal, request_id: str, path: str, group: str, comment: str = "") -> int:
        inputs = self.ctx.inputs
        with self.ctx.refusals_audited(principal, "add_file", request_id):
            group = clean_text(group, "group name", inputs.name_chars, required=True)
            comment = clean_text(comment, "comment", inputs.note_chars)
            if isinstance(path, str) and len(path) > inputs.path_chars:  # checked before it is echoed in errors
                raise TextTooLong(
                    f"'path' is too long: {len(path):,} characters, and the limit is {inputs.path_chars:,}. "
                    "Give the file a shorter name (or move it up a folder) in your outbox; nothing was added."
                )
            path = normalise_relpath(path)
            with self.ctx.db.write() as session:
                req = self._editable(session, principal, request_id)
                self.ctx.limits.check_file_count(len(req.files) + 1)
                if any(f.path == path for f in req.files):
                    raise DuplicateFile(
                        f"'{path}' is already in this request. Remove it first to move it to another group."
                    )
                outbox = self.ctx.directory.outbox_path(req.project, req.author)
                size = inspect_outbox_file(outbox, path, self.ctx.limits)
                grp = _group(session, req, group)
                if grp is None:
                    self.ctx.inputs.check_groups(len(req.groups) + 1)
                    grp = FileGroup(request_id=req.id, name=group, context="", controls="")
                    session.add(grp)
                    session.flush()
                rf = RequestFile(request_id=req.id, group_id=grp.id, path=path, comment=comment, added_at=utcnow())
                session.add(rf)
                req.updated_at = utcnow()
                session.flush()
                audit.append(
                    session,
                    actor=principal.name,
                    event=AuditEvent.FILE_ADDED,
                    request_id=req.id,
                    details={"path": path, "group": group, "size_bytes": size},
                )
                return rf.id

    def remove_file(self, principal: Principal, request_id: str, file_id: int) -> None:
        with self.ctx.refusals_audited(principal, "remove_file", request_id), self.ctx.db.write() as session:
            req = self._editable(session, principal, request_id)
            rf = next((f for f in req.files if f.id == file_id), None)
            if rf is None:
                raise FileNotInRequest("That file is not in this request. Reload the page.")
            req.files.remove(rf)
            req.updated_at = utcnow()
            audit.append(
                session,
                actor=principal.name,
                event=AuditEvent.FILE_REMOVED,
                request_id=req.id,
                details={"path": rf.path},
            )

    def withdraw(self, principal: Principal, request_id: str) -> None:
        with self.ctx.refusals_audited(principal, "withdraw", request_id), self.ctx.db.write() as session:
            req = load_request(session, request_id)
            permissions.check_can_view(principal, req)
            permissions.check_scope(principal, Scope.REQUEST)
            permissions.check_is_author(principal, req)
            perform_transition(session, req, Action.WITHDRAW, principal.name)

    # --- submission ---------------------------------------------------------------

    def submit(self, principal: Principal, request_id: str) -> None:
        """Stage every file, run the checks, then record it all and move to SUBMITTED.

        Disk work and checks happen before the database transaction; the
        transaction re-checks that nothing changed meanwhile. If anything
        fails, the request is left exactly as it was.
        """
        with self.ctx.refusals_audited(principal, "submit", request_id):
            action, planned, snapshot, req_view = self._plan_submission(principal, request_id)
            outbox = self.ctx.directory.outbox_path(req_view.project, req_view.author)
            staged: dict[str, StagedBlob] = {}
            try:
                for f in planned:
                    staged[f.path] = self.ctx.staging.stage(outbox, f.path, self.ctx.limits)
                results = self._run_checks(req_view.project, staged)
                self._record_submission(principal, request_id, action, planned, snapshot, staged, results)
            finally:
                self.ctx.staging.unpin([b.sha256 for b in staged.values()], self._is_referenced)

    def _plan_submission(self, principal: Principal, request_id: str):
        with self.ctx.db.read() as session:
            req = load_request(session, request_id)
            permissions.check_can_view(principal, req)
            permissions.check_is_author(principal, req)
            permissions.check_can_request_for(principal, req.project, self.ctx.directory)
            state = RequestState(req.state)
            action = Action.RESUBMIT if state is RequestState.CHANGES_REQUESTED else Action.SUBMIT
            check_transition(state, action)
            policies.check_has_files(len(req.files))
            self.ctx.limits.check_file_count(len(req.files))
            for group in req.groups:
                if any(f.group_id == group.id for f in req.files) and not (
                    group.context.strip() and group.controls.strip()
                ):
                    raise InvalidInput(
                        f"Describe group '{group.name}' before submitting: say what its files are (context) "
                        "and which disclosure controls you applied (controls)."
                    )
            planned = [_PlannedFile(f.id, f.path, f.group.name, f.comment) for f in req.files]
            snapshot = _snapshot(req)
            session.expunge(req)
            return action, planned, snapshot, req

    def _run_checks(self, project: str, staged: dict[str, StagedBlob]) -> dict[str, list[CheckResult]]:
        context = CheckContext(
            identifiers=self.ctx.directory.identifiers(project),
            cohort_tables=tuple(self.ctx.directory.cohort_tables(project)),
            released_tables=self._released_files(project),
            config=self.ctx.checks_config,
        )
        results: dict[str, list[CheckResult]] = {}
        with self.ctx.staging.checks_view((p, b.sha256) for p, b in staged.items()) as paths:
            for relpath, path in paths.items():
                try:
                    results[relpath] = list(self.ctx.run_checks(path, context))
                except Exception as exc:  # a crashing check blocks the file instead of failing the submission
                    results[relpath] = [checks_unavailable(exc)]
                if not results[relpath]:
                    results[relpath] = [checks_unavailable(RuntimeError("no check ran on this file"))]
        return results

    def _released_files(self, project: str) -> tuple[Path, ...]:
        from ..storage.models import Release

        with self.ctx.db.read() as session:
            rows = session.execute(
                select(StagedFile.sha256)
                .join(Request, Request.id == StagedFile.request_id)
                .join(Release, (Release.request_id == Request.id) & (Release.round == StagedFile.round))
                .where(Request.project == project, Request.state == RequestState.RELEASED.value)
            ).scalars()
            return tuple(self.ctx.staging.blob_path(sha) for sha in sorted(set(rows)))

    def _record_submission(self, principal, request_id, action, planned, snapshot, staged, results) -> None:
        with self.ctx.db.write() as session:
            req = load_request(session, request_id)
            if _snapshot(req) != snapshot:
                raise ConcurrentChange(
                    "The request changed while it was being submitted (another tab?). Reload and submit again."
                )
            req.round += 1
            now = utcnow()
            summary = []
            for f in planned:
                blob = staged[f.path]
                sf = StagedFile(
                    request_id=req.id,
                    round=req.round,
                    group_name=f.group,
                    path=f.path,
                    comment=f.comment,
                    sha256=blob.sha256,
                    size_bytes=blob.size,
                    staged_at=now,
                )
                session.add(sf)
                session.flush()
                for position, result in enumerate(results[f.path]):
                    session.add(
                        CheckRecord(
                            staged_file_id=sf.id,
                            position=position,
                            rule=result.rule,
                            version=result.version,
                            verdict=result.verdict.value,
                            record=audit.canonical_json(result.to_record()),
                        )
                    )
                summary.append(
                    {
                        "path": f.path,
                        "sha256": blob.sha256,
                        "size_bytes": blob.size,
                        "verdicts": {r.rule: r.verdict.value for r in results[f.path]},
                    }
                )
            transition = perform_transition(session, req, action, principal.name, {"files": summary})
            queue_notices(session, req, transition.event)  # the reviewers hear of it

    def _is_referenced(self, sha256: str) -> bool:
        with self.ctx.db.read() as session:
            return (
                session.execute(select(StagedFile.id).where(StagedFile.sha256 == sha256).limit(1)).first() is not None
            )

    # --- helpers ------------------------------------------------------------------

    def _editable(self, session: Session, principal: Principal, request_id: str) -> Request:
        req = load_request(session, request_id)
        permissions.check_can_view(principal, req)
        permissions.check_is_author(principal, req)
        permissions.check_can_request_for(principal, req.project, self.ctx.directory)
        policies.check_editable(RequestState(req.state))
        return req


def _open_requests(session: Session, author: str) -> int:
    """The author's requests that are not finished: drafts, and those in review or awaiting changes."""
    return session.execute(
        select(func.count(Request.id)).where(Request.author == author, Request.state.in_(OPEN_STATES))
    ).scalar_one()


OPEN_STATES = tuple(
    s.value for s in (RequestState.DRAFT, RequestState.SUBMITTED, RequestState.CHANGES_REQUESTED, RequestState.APPROVED)
)


def _group(session: Session, req: Request, name: str) -> FileGroup | None:
    return session.execute(
        select(FileGroup).where(FileGroup.request_id == req.id, FileGroup.name == name)
    ).scalar_one_or_none()


def _snapshot(req: Request) -> tuple:
    return (
        req.state,
        req.round,
        tuple(sorted((f.id, f.path, f.group_id, f.comment) for f in req.files)),
        tuple(sorted((g.id, g.name, g.context, g.controls) for g in req.groups)),
    )
