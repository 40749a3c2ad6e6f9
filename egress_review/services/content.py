"""Opening the content of staged files: the rule of domain/disclosure.py, applied and audited.

``content_access`` is for pages and the request's JSON (content is shown, or quietly left out);
``open_content`` is for routes that exist only to send content (an image preview, a revoked
request's manifest): they are refused, and the refusal audited, for anyone the rule leaves out.
An operator's every opening is audited with their reason.
"""

from __future__ import annotations

from ..domain import disclosure, permissions
from ..domain.disclosure import Audience
from ..domain.events import AuditEvent
from ..domain.permissions import Principal
from ..storage import audit
from .context import AirlockContext, load_request
from .text import clean_text


def content_access(
    ctx: AirlockContext, principal: Principal, request_id: str, reason: str, what: str
) -> tuple[Audience, bool]:
    """(who this person is to the content, whether they get it now)."""
    reason = clean_text(reason, "reason", ctx.inputs.note_chars)
    with ctx.db.read() as session:
        req = load_request(session, request_id)
        permissions.check_can_view(principal, req)
        audience = disclosure.content_audience(principal, req)
    if audience is Audience.OPERATOR and reason:
        _audit_opening(ctx, principal, request_id, reason, what, None)
    return audience, audience is Audience.REVIEWER or (audience is Audience.OPERATOR and bool(reason))


def open_content(
    ctx: AirlockContext,
    principal: Principal,
    request_id: str,
    reason: str,
    what: str,
    staged_file_id: int | None = None,
) -> None:
    with ctx.refusals_audited(principal, "open_content", request_id):
        reason = clean_text(reason, "reason", ctx.inputs.note_chars)
        with ctx.db.read() as session:
            req = load_request(session, request_id)
            permissions.check_can_view(principal, req)
            audience = disclosure.check_may_see_content(principal, req, reason)
    if audience is Audience.OPERATOR:
        _audit_opening(ctx, principal, request_id, reason, what, staged_file_id)


def _audit_opening(ctx, principal: Principal, request_id: str, reason: str, what: str, staged_file_id) -> None:
    with ctx.db.write() as session:
        audit.append(
            session,
            actor=principal.name,
            event=AuditEvent.CONTENT_OPENED,
            request_id=request_id,
            details={"what": what, "staged_file_id": staged_file_id, "reason": reason},
        )
