"""Reading the audit log (operators only)."""

from __future__ import annotations

from sqlalchemy import select

from ..domain import permissions
from ..domain.permissions import Principal
from ..storage import audit
from ..storage.models import AuditEntry
from .context import AirlockContext


def list_entries(
    ctx: AirlockContext, principal: Principal, request_id: str | None = None, limit: int = 200
) -> list[dict]:
    permissions.check_can_operate(principal)
    limit = max(1, min(limit, 1000))
    with ctx.db.read() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if request_id:
            query = query.where(AuditEntry.request_id == request_id)
        return [audit.entry_to_dict(e) for e in session.execute(query).scalars()]


def verify(ctx: AirlockContext, principal: Principal) -> dict:
    permissions.check_can_operate(principal)
    with ctx.db.read() as session:
        problems = audit.verify_chain(session)
        count = session.query(AuditEntry).count()
    return {
        "entries": count,
        "intact": not problems,
        "problems": [{"id": p.entry_id, "problem": p.problem} for p in problems],
    }
