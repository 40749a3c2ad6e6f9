"""`enclave audit verify`: is the one log whole?

Four checks, each naming the entry and what happened to it:
1. the enclave's chain (edited, inserted, reordered, deleted entries);
2. the anchor outside the database (entries cut off the end, the chain rewritten);
3. the airlock's own chain, in its database;
4. the two against each other: every airlock entry is in the enclave's log
   with the same hash, once and in order, and every event that claims to
   come from the airlock says so (`source`) and exists there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from egress_review.integration import ChainLink

from ..settings import EnclaveSettings
from ..state.audit import verify_chain
from ..state.audit_anchor import ForeignLine, anchor_paths, check_against_anchor, foreign_lines
from ..state.audit_chain import DELETED, EDITED, INSERTED, REORDERED, Link, Problem, classify
from ..state.db import open_state_db
from ..state.installation import installation_id
from ..state.models import AuditEvent
from .forwarding import PREFIX, SOURCE, airlock_audit, forwarded_entry_hash, is_forwarded

MISSING = "missing from the one log"


@dataclass(frozen=True)
class Verdict:
    enclave_entries: int
    airlock_entries: int | None  # None: the airlock has never run here
    problems: list[Problem]
    foreign: list[ForeignLine] = field(default_factory=list)  # anchor lines of another installation

    @property
    def intact(self) -> bool:
        return not self.problems


def _airlock_link(entry: ChainLink) -> Link:
    return Link(entry.id, entry.prev_hash, entry.entry_hash, entry.hash_holds)


def _forwarded_copies(events: list[AuditEvent]) -> tuple[dict[int, AuditEvent], list[Problem]]:
    """The airlock entries in the enclave's log by airlock id, and what is wrong with the copies themselves."""
    copies: dict[int, AuditEvent] = {}
    problems: list[Problem] = []
    last_id = 0
    for event in events:
        if not is_forwarded(event):
            if event.action.startswith(PREFIX):
                problems.append(
                    Problem(
                        "enclave",
                        event.seq,
                        INSERTED,
                        f"it looks like an airlock entry but has no source '{SOURCE}': it was not forwarded",
                    )
                )
            continue
        airlock_id = event.details.get("airlock_id")
        if not isinstance(airlock_id, int):
            problems.append(Problem("enclave", event.seq, EDITED, "its airlock entry id is missing"))
            continue
        if airlock_id in copies:
            problems.append(
                Problem(
                    "enclave",
                    event.seq,
                    INSERTED,
                    f"airlock entry {airlock_id} is already in the log at seq {copies[airlock_id].seq}",
                )
            )
            continue
        if airlock_id < last_id:
            problems.append(
                Problem(
                    "enclave",
                    event.seq,
                    REORDERED,
                    f"it holds airlock entry {airlock_id} after airlock entry {last_id}",
                )
            )
        if not event.action.startswith(PREFIX):
            problems.append(Problem("enclave", event.seq, EDITED, f"its action lacks the prefix '{PREFIX}'"))
        elif forwarded_entry_hash(event) != event.details.get("airlock_entry_hash"):
            problems.append(
                Problem(
                    "enclave",
                    event.seq,
                    EDITED,
                    f"its copy of airlock entry {airlock_id} does not match that entry's hash",
                )
            )
        copies[airlock_id] = event
        last_id = max(last_id, airlock_id)
    return copies, problems


def _cross_check(entries: list[ChainLink], copies: dict[int, AuditEvent]) -> list[Problem]:
    problems: list[Problem] = []
    ids = {e.id for e in entries}
    forwarded_as = {copy.details.get("airlock_entry_hash"): airlock_id for airlock_id, copy in copies.items()}
    for entry in entries:
        copy = copies.get(entry.id)
        moved_from = forwarded_as.get(entry.entry_hash)
        if moved_from is not None and moved_from != entry.id:
            problems.append(
                Problem(
                    "airlock",
                    entry.id,
                    REORDERED,
                    f"it was forwarded as airlock entry {moved_from} and now sits at {entry.id}",
                )
            )
        elif copy is None:
            problems.append(
                Problem(
                    "airlock",
                    entry.id,
                    MISSING,
                    "it is not in the enclave's log (not forwarded: the airlock's chain breaks at or before it)",
                )
            )
        elif copy.details.get("airlock_entry_hash") != entry.entry_hash:
            problems.append(
                Problem(
                    "airlock",
                    entry.id,
                    EDITED,
                    f"its hash differs from its copy in the one log "
                    f"(enclave seq {copy.seq}): it was changed and "
                    "re-hashed",
                )
            )
    for airlock_id, copy in sorted(copies.items()):
        if airlock_id not in ids:
            problems.append(
                Problem(
                    "airlock",
                    airlock_id,
                    DELETED,
                    f"it is in the one log (enclave seq {copy.seq}) but gone from the airlock's database",
                )
            )
    return problems


def verify_one_log(settings: EnclaveSettings) -> Verdict:
    """Every problem with the enclave's log, its anchor, the airlock's log and the two together."""
    db = open_state_db(settings.database_url)

    def newest_seq() -> int:
        with db.reading() as fresh:
            return fresh.execute(select(func.max(AuditEvent.seq))).scalar() or 0

    # The airlock's entries are read before the enclave's log: an entry forwarded meanwhile is then found in
    # both, never in the enclave's log only.
    airlock = airlock_audit(settings)
    try:
        entries = None if airlock is None else airlock.chain()
    finally:
        if airlock is not None:
            airlock.close()
    with db.reading() as session:
        events = list(session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())
        problems = verify_chain(session)
        this_installation = installation_id(session)
        paths = anchor_paths(settings.database_url)
        problems += check_against_anchor(paths, {e.seq: e.entry_hash for e in events}, newest_seq, this_installation)
        foreign = foreign_lines(paths, this_installation)
        copies, copy_problems = _forwarded_copies(events)
        problems += copy_problems
        if entries is None:
            if copies:
                problems.append(
                    Problem(
                        "airlock",
                        None,
                        DELETED,
                        f"its database is gone, but the one log holds {len(copies)} of its entries",
                    )
                )
            return Verdict(len(events), None, _once_per_entry(problems), foreign)
        problems += classify("airlock", [_airlock_link(e) for e in entries])
        problems += _cross_check(entries, copies)
        return Verdict(len(events), len(entries), _once_per_entry(problems), foreign)


def _once_per_entry(problems: list[Problem]) -> list[Problem]:
    """The first (most specific: the chain's) finding for each entry, and whether it is missing from the one
    log; findings about no one entry all stay."""
    seen: set[tuple[str, int, bool]] = set()
    kept = []
    for problem in problems:
        if problem.key is not None:
            mark = (problem.log, problem.key, problem.kind == MISSING)
            if mark in seen:
                continue
            seen.add(mark)
        kept.append(problem)
    return kept
