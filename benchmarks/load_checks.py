"""The load benchmark's answers that must be right: the meter against the clients, the airlock's records.

- The edge's ledger (egress_usage, raw bytes: what went over the wire) per person and kind of traffic,
  read before and after a level once the edge has flushed, against what that person's clients counted.
  With no errors in the level the two must be equal; with errors (an answer cut short) the meter may
  have counted bytes the client never read, so it must be at least what the client received. A meter
  below what a client received has let bytes out uncounted: always a wrong answer.
- The airlock's database, read directly afterwards: every submission and vote a client saw
  acknowledged is recorded, and recorded once (the row and its audit entry), and the airlock's audit
  entries reached the enclave's audit log once each.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter, defaultdict

from sqlalchemy import func, select

from enclave.state.audit_query import AuditFilter, find_events
from enclave.state.models import EgressUsage

KINDS = ("workspace", "kernel", "hub", "airlock")


def kind_of(channel: str) -> str:
    """The ledger's channel as the clients tell traffic apart."""
    return channel if channel in ("kernel", "hub", "airlock") else "workspace"


def ledger(ctx, people: set[str]) -> dict[str, dict[str, int]]:
    """Raw bytes in the ledger per person and kind, summed over every day and project."""
    found: dict[str, dict[str, int]] = {p: dict.fromkeys(KINDS, 0) for p in people}
    with ctx.db.reading() as session:
        rows = session.execute(
            select(EgressUsage.user, EgressUsage.channel, func.sum(EgressUsage.raw_bytes))
            .where(EgressUsage.user.in_(people))
            .group_by(EgressUsage.user, EgressUsage.channel)
        )
        for user, channel, raw in rows:
            found[user][kind_of(channel)] += int(raw)
    return found


def settled_ledger(ctx, people: set[str], quiet_s: float = 4.0, timeout_s: float = 90) -> dict:
    """The ledger once the edge has flushed what it counted (about every second): unchanged for quiet_s."""
    deadline = time.monotonic() + timeout_s
    last, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = ledger(ctx, people)
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= quiet_s:
            break
        time.sleep(0.5)
    return last


def compare_meter(before: dict, after: dict, received: dict, had_errors: bool) -> dict:
    """Per person and kind: the ledger's growth against the clients' count, and the verdict."""
    lines, undercounted, differs = [], [], []
    for person in sorted(after):
        for kind in KINDS:
            metered = after[person][kind] - before.get(person, {}).get(kind, 0)
            got = received.get(person, {}).get(kind, 0)
            if metered or got:
                lines.append({"person": person, "kind": kind, "metered": metered, "received": got})
            if metered < got:
                undercounted.append(f"{person}/{kind}: metered {metered:,}, received {got:,}")
            elif metered != got:
                differs.append(f"{person}/{kind}: metered {metered:,}, received {got:,}")
    metered_total = sum(line["metered"] for line in lines)
    received_total = sum(line["received"] for line in lines)
    right = not undercounted and (had_errors or not differs)
    return {
        "metered_bytes": metered_total,
        "received_bytes": received_total,
        "by_kind": {
            kind: {
                "metered": sum(line["metered"] for line in lines if line["kind"] == kind),
                "received": sum(line["received"] for line in lines if line["kind"] == kind),
            }
            for kind in KINDS
        },
        "equal": not undercounted and not differs,
        "right": right,
        "undercounted": undercounted,
        "differs": differs,
        "people": lines,
    }


def airlock_records(db_path, request_ids: set[str]) -> dict:
    """Submissions and votes of these requests as the airlock's database holds them (read-only)."""
    wanted = sorted(request_ids)
    marks = ",".join("?" * len(wanted))
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        if not wanted:
            return {"submitted": {}, "votes": {}, "submitted_audit": {}, "vote_audit": {}, "audit_ids": []}
        submitted = dict(
            db.execute(f"SELECT id, submitted_at IS NOT NULL FROM requests WHERE id IN ({marks})", wanted).fetchall()
        )
        votes = Counter(
            (rid, reviewer)
            for rid, reviewer in db.execute(
                f"SELECT request_id, reviewer FROM votes WHERE request_id IN ({marks})", wanted
            )
        )
        audit = db.execute(
            f"SELECT id, event, actor, request_id FROM audit_log WHERE request_id IN ({marks})"
            " AND event IN ('request.submitted', 'vote.cast')",
            wanted,
        ).fetchall()
    return {
        "submitted": submitted,
        "votes": votes,
        "submitted_audit": Counter(rid for _, event, _, rid in audit if event == "request.submitted"),
        "vote_audit": Counter((rid, actor) for _, event, actor, rid in audit if event == "vote.cast"),
        "audit_ids": [entry_id for entry_id, *_ in audit],
    }


def forwarded_counts(ctx, airlock_ids: list[int]) -> Counter:
    """How many times each of these airlock audit entries appears in the enclave's audit log."""
    wanted = set(airlock_ids)
    seen: Counter = Counter()
    with ctx.db.reading() as session:
        for event in find_events(session, AuditFilter(action="egress.")):
            airlock_id = (event.details or {}).get("airlock_id")
            if airlock_id in wanted:
                seen[airlock_id] += 1
    return seen


def exactly_once(records: dict, forwarded: Counter, submissions: dict[str, str], votes: set[tuple[str, str]]) -> dict:
    """Every acknowledged submission and vote recorded once (row and audit entry, forwarded once)."""
    lost, doubled, unacknowledged = [], [], []
    for rid in submissions:
        if not records["submitted"].get(rid):
            lost.append(f"submission {rid}: no submitted request")
        count = records["submitted_audit"].get(rid, 0)
        if count == 0:
            lost.append(f"submission {rid}: no audit entry")
        elif count > 1:
            doubled.append(f"submission {rid}: {count} audit entries")
    for key in votes:
        rows, entries = records["votes"].get(key, 0), records["vote_audit"].get(key, 0)
        if rows == 0 or entries == 0:
            lost.append(f"vote {key}: {rows} rows, {entries} audit entries")
        elif rows > 1 or entries > 1:
            doubled.append(f"vote {key}: {rows} rows, {entries} audit entries")
    for key, rows in records["votes"].items():
        if key not in votes:
            unacknowledged.append(f"vote {key}: recorded ({rows}) but never acknowledged to the reviewer")
    for entry_id in records["audit_ids"]:
        times = forwarded.get(entry_id, 0)
        if times != 1:
            (lost if times == 0 else doubled).append(f"airlock audit entry {entry_id}: in the enclave's log {times}x")
    per_request = defaultdict(int)
    for rid, _ in votes:
        per_request[rid] += 1
    return {
        "submissions": len(submissions),
        "votes": len(votes),
        "requests_fully_voted": sum(1 for rid in submissions if per_request[rid] >= 2),
        "lost": lost,
        "doubled": doubled,
        "recorded_unacknowledged": unacknowledged,
        "right": not lost and not doubled,
    }
