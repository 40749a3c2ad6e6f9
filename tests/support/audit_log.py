"""Finding the audit entry an attempt left: `assert_audited`, for the red-team suite of every tier.

It looks in the one audit log of the enclave (where the airlock's events land, prefixed `egress.`, once they
are forwarded there), then in the airlock's own chain, read only.
"""

from __future__ import annotations

import json
import sqlite3

from enclave.state.audit_query import AuditFilter, as_record, find_events

AIRLOCK_PREFIX = "egress."  # how the one audit log names events forwarded from the airlock


def _matches(record: dict, match: dict) -> bool:
    """Each key is a top-level field (actor, target, outcome, request_id) or a key of its details."""
    details = record.get("details") or {}
    if isinstance(details, str):
        details = json.loads(details)
    nested = details.get("details") if isinstance(details.get("details"), dict) else {}
    for key, wanted in match.items():
        found = [record[key]] if key in record else []
        found += [d[key] for d in (details, nested) if key in d]
        if not any(wanted(v) if callable(wanted) else v == wanted for v in found):
            return False
    return True


def enclave_events(enclave, action: str) -> list[dict]:
    with enclave.ctx.db.reading() as session:
        return [as_record(e) for e in find_events(session, AuditFilter(action=action))]


def airlock_events(enclave, event: str) -> list[dict]:
    """The airlock's own chain (read-only), for events not (yet) forwarded into the enclave's log."""
    path = enclave.settings.state_path / "airlock" / "egress-review.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM audit_log WHERE event = ? ORDER BY id", (event,)).fetchall()
    return [{**dict(row), "action": row["event"], "details": json.loads(row["details"])} for row in rows]


def assert_audited(enclave, action: str, /, **match) -> dict:
    """The audit entry recording `action` whose fields match; returned for further checks.

    Looks in the enclave's log first (where the airlock's events land, prefixed `egress.`, once they
    are forwarded there), then in the airlock's own log.
    """
    candidates = [
        r for name in (action, AIRLOCK_PREFIX + action) for r in enclave_events(enclave, name) if r["action"] == name
    ]
    if not any(_matches(r, match) for r in candidates):
        candidates += airlock_events(enclave, action)
    hits = [r for r in candidates if _matches(r, match)]
    assert hits, f"no audit entry {action} matching {match}; entries for that action: {candidates[-5:]}"
    return hits[-1]
