"""Refusals at the edge are audited: the first always, repeats within a minute folded into the next record."""

from __future__ import annotations

import asyncio

from enclave.edge.refusals import REPEAT_WINDOW, RefusalAudit
from enclave.state.audit import verify_chain
from enclave.state.db import StateDB
from enclave.state.models import AuditEvent


def events(db: StateDB) -> list[dict]:
    with db.reading() as session:
        rows = session.query(AuditEvent).filter_by(action="edge.refused").order_by(AuditEvent.seq).all()
        return [{"actor": e.actor, "target": e.target, "outcome": e.outcome, "details": e.details} for e in rows]


def test_first_refusal_recorded_repeats_folded_into_the_next(tmp_path):
    db = StateDB(f"sqlite:///{tmp_path / 'state.sqlite'}")
    now = [1000.0]
    refusals = RefusalAudit(db, clock=lambda: now[0])
    same = dict(reason="token-in-url", route="/hub/api/user", method="GET", client="192.0.2.1")

    async def scenario():
        await refusals.record(**same)
        for _ in range(5):
            await refusals.record(**same)  # the same refusal within the window: counted, not recorded
        await refusals.record(**{**same, "client": "192.0.2.2"})  # another client: recorded at once
        await refusals.record(
            reason="closed-route",
            route="/user/alice/alpha/files/x",
            method="GET",
            client="192.0.2.1",
            user="alice",
            server="alpha",
        )
        now[0] += REPEAT_WINDOW + 1
        await refusals.record(**same)  # after the window: recorded, with the five it stands for

    asyncio.run(scenario())
    recorded = events(db)
    assert [(e["details"]["reason"], e["details"]["client"]) for e in recorded] == [
        ("token-in-url", "192.0.2.1"),
        ("token-in-url", "192.0.2.2"),
        ("closed-route", "192.0.2.1"),
        ("token-in-url", "192.0.2.1"),
    ]
    assert "repeats_folded" not in recorded[0]["details"] and recorded[3]["details"]["repeats_folded"] == 5
    assert recorded[2]["target"] == "alice" and recorded[2]["details"]["project"] == "alpha"
    assert all(e["actor"] == "edge" and e["outcome"] == "refused" for e in recorded)
    with db.reading() as session:
        assert verify_chain(session) == []
