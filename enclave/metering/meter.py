"""EgressMeter: the cheap, synchronous counting the edge calls for every frame it relays.

The edge sends each response (or websocket direction) through a MeteredStream,
which counts the information the bytes carry for the person (information.py)
against two daily budgets (budgets.py): the person's own in the project, and the
project's cap on all its members together. Spending the person's budget cuts
them off, stops the workspace and suspends them; spending the project's cap cuts
every member off until the next UTC day, and suspends no one for it.

The hot path (`stream().send`, `count`, `blocked`) touches only dictionaries, except the first
time a (day, user, project) is seen, when it reads that day's totals, the budgets
and the account's status once. A background task adds the counted bytes to the
ledger about once a second, and at once when a threshold is crossed; each
flush also reads back the totals of all edges, budgets and account statuses,
so other edge processes, an operator raising a budget or resuming a person
take effect within a second.

Budgets are judged on the ledger's total plus what this process has not yet
written, so restarting the edge does not reset anyone's budget. If the ledger
cannot be read or written, the meter fails closed: `count` returns False and
`blocked` True until a write succeeds again.

With a journal (journal.py; the edge always has one), each count is on disk
before its bytes are sent, so an edge killed between two flushes loses no
count: the next edge to start adds it to the ledger.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import select, text

from ..egress.budgets import Budget, budgets_of
from ..egress.channels import CHANNELS
from ..hub.workspaces import HubWorkspaces
from ..notify import OperatorNotifier
from ..operations.base import WorkspaceControl
from ..settings import EnclaveSettings
from ..state.db import StateDB, open_state_db
from ..state.models import AccountStatus, User
from . import ledger
from .enforcement import enforce_exceeded
from .information import ReceivedToday, StreamMeasure
from .journal import CountJournal, JournalError
from .thresholds import EXCEEDED, PROJECT_WIDE, action_of, raise_new

log = logging.getLogger(__name__)

AUDIT_LOCK = 727274  # the advisory lock enclave.state.audit.record takes on PostgreSQL


Pair = tuple[str, str]  # (user, project)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _crosses(before: int, after: int, limit: int | None) -> bool:
    """Whether going from `before` to `after` reaches half of `limit` or all of it."""
    return limit is not None and (2 * after >= limit > 2 * before or after >= limit)


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown metering channel {channel!r}: use one of {sorted(CHANNELS)}")


class MeteredStream:
    """One response's (or one websocket direction's) bytes to one person, measured as information (C2/C3)."""

    def __init__(self, meter: EgressMeter, user: str, project: str, channel: str):
        self.meter, self.user, self.project, self.channel = meter, user, project, channel
        self._measure = StreamMeasure(primer=meter.received(user).primer())

    def send(self, data: bytes) -> bool:
        """Count `data` against the person and project; False: do not send it, stop the stream."""
        meter = self.meter
        if meter.blocked(self.user, self.project):
            return False
        memory = meter.received(self.user)
        measured = self._measure.measure(data, memory)
        if not meter._add(self.user, self.project, self.channel, measured.counted, measured.raw):
            return False
        memory.remember(measured.new_digests, data)  # only what really went out
        return True


class EgressMeter:
    """Counts bytes per (UTC day, user, project, channel) against a daily budget per person and project."""

    def __init__(
        self,
        settings: EnclaveSettings,
        *,
        clock: Callable[[], datetime] = _utc_now,
        flush_interval: float = 1.0,
        db: StateDB | None = None,
        workspaces: WorkspaceControl | None = None,
        journal: CountJournal | None = None,
    ):
        self.settings = settings
        self.clock = clock
        self.flush_interval = flush_interval
        self._db = db
        self._workspaces = workspaces
        self._journal = journal
        self._notifier: OperatorNotifier | None = None  # made on first use, like the database
        # What the ledger held at the last read, plus what this process counted since.
        self._day: date | None = None
        self._seen: dict[Pair, int] = {}
        self._project_seen: dict[str, int] = {}  # all members together
        # (day, user, project, channel) -> [counted, raw] bytes not yet in the ledger
        self._pending: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self._received: dict[str, ReceivedToday] = {}  # per person, today
        self._budgets: dict[str, Budget] = {}
        self._active_users: set[str] = set()
        self._healthy = True
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._enforcing: set[asyncio.Task] = set()

    # --- wiring ------------------------------------------------------------------

    @property
    def db(self) -> StateDB:
        if self._db is None:
            self._db = open_state_db(self.settings.database_url)
        return self._db

    @property
    def notifier(self) -> OperatorNotifier:
        if self._notifier is None:
            self._notifier = OperatorNotifier(self.settings, self.db)
        return self._notifier

    @property
    def workspaces(self) -> WorkspaceControl:
        if self._workspaces is None:
            self._workspaces = HubWorkspaces(self.settings)
        return self._workspaces

    def _today(self) -> date:
        today = self.clock().astimezone(UTC).date()
        if today != self._day:
            # A new UTC day: yesterday's unflushed bytes stay queued under their own day.
            self._day = today
            self._seen = {}
            self._project_seen = {}
            self._received = {}
        return today

    # --- the hot path ------------------------------------------------------------

    def stream(self, user: str, project: str, channel: str) -> MeteredStream:
        """A stream measuring the information it carries to `user` (one per response or websocket direction)."""
        _check_channel(channel)
        return MeteredStream(self, user, project, channel)

    def count(self, user: str, project: str, nbytes: int, channel: str) -> bool:
        """Count `nbytes` sent to `user`'s browser from `project`'s workspace, as they are (no measuring).

        Returns False when the budget is used up (this frame included), the
        person is not active, or the ledger is failing: the caller stops sending.
        """
        _check_channel(channel)
        if nbytes < 0:
            raise ValueError("nbytes must not be negative")
        if self.blocked(user, project):
            return False
        return self._add(user, project, channel, nbytes, nbytes)

    def received(self, user: str) -> ReceivedToday:
        """What `user` already received today (digests), for measuring what is new to them."""
        self._today()
        memory = self._received.get(user)
        if memory is None:
            memory = self._received[user] = ReceivedToday()
        return memory

    def _add(self, user: str, project: str, channel: str, counted: int, raw: int) -> bool:
        """Add to today's counters after `blocked` said no; True while neither budget is used up."""
        day, pair = self._day, (user, project)
        if self._journal is not None:
            try:
                self._journal.append((day.isoformat(), user, project, channel), counted, raw)
            except JournalError:
                log.exception("refusing data until the egress journal can be written")
                self._healthy = False
                return False
        before, project_before = self._seen[pair], self._project_seen[project]
        after, project_after = before + counted, project_before + counted
        self._seen[pair], self._project_seen[project] = after, project_after
        pending = self._pending[(day.isoformat(), user, project, channel)]
        pending[0] += counted
        pending[1] += raw
        person, cap = self._budgets[project].per_person, self._budgets[project].project_cap
        if _crosses(before, after, person) or _crosses(project_before, project_after, cap):
            self._flush_now()  # a threshold was crossed: alert or enforce without waiting
        return after < person and (cap is None or project_after < cap)

    def blocked(self, user: str, project: str) -> bool:
        """True once today's budget of the person or of the project is used up, the person is
        suspended or removed, or the ledger fails."""
        self._today()
        if (user, project) not in self._seen and not self._load(user, project):
            return True
        if not self._healthy or user not in self._active_users:
            return True
        budget = self._budgets[project]
        if budget.project_cap is not None and self._project_seen[project] >= budget.project_cap:
            return True
        return self._seen[(user, project)] >= budget.per_person

    def _load(self, user: str, project: str) -> bool:
        """First sight of a pair today: read its totals, budgets and account status (once)."""
        pair = (user, project)
        try:
            with self.db.reading() as session:
                total = ledger.totals(session, self._day, {pair})[pair]
                project_total = ledger.project_totals(session, self._day, {project})[project]
                budget = budgets_of(session, self.settings, {project})[project]
                status = session.execute(select(User.status).where(User.name == user)).scalar_one_or_none()
        except Exception:
            log.exception("egress ledger unreadable: refusing data for %s/%s", project, user)
            return False
        self._seen[pair] = total + self._unflushed(self._day, user, project)
        self._project_seen[project] = project_total + self._unflushed(self._day, None, project)
        self._budgets[project] = budget
        if status is AccountStatus.ACTIVE:
            self._active_users.add(user)
        else:
            self._active_users.discard(user)
        return True

    def _flush_now(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # --- writing out -------------------------------------------------------------

    async def start(self) -> None:
        """Start the periodic flush (call from the event loop the edge runs on)."""
        if self._task is None:
            if self._journal is not None:
                for key, (counted, raw) in self._journal.adopt_orphans().items():
                    pending = self._pending[key]
                    pending[0] += counted
                    pending[1] += raw
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="egress-meter-flush")

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_interval)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Add what was counted to the ledger, raise thresholds, refresh totals, budgets and statuses."""
        async with self._lock:
            if self._pending and self._journal is not None:
                try:
                    self._journal.seal()  # with the batch taken below: no count comes between (one event loop)
                except OSError:
                    log.exception("egress journal cannot be rotated: refusing data until it can")
                    self._healthy = False
                    return
            batch, self._pending = dict(self._pending), defaultdict(lambda: [0, 0])
            today, pairs = self._today(), set(self._seen)
            healthy, exceeded = True, []
            if batch:
                try:
                    exceeded = await asyncio.to_thread(self._write, batch)
                except Exception:
                    log.exception("egress ledger write failed: refusing data until it succeeds")
                    for key, (counted, raw) in batch.items():
                        pending = self._pending[key]  # not committed: kept for the next attempt, never dropped
                        pending[0] += counted
                        pending[1] += raw
                    healthy = False
                else:
                    if self._journal is not None:
                        self._journal.committed()
            if healthy and pairs:
                try:
                    self._apply(today, pairs, *await asyncio.to_thread(self._read, today, pairs))
                except Exception:
                    log.exception("egress ledger unreadable: refusing data until it can be read")
                    healthy = False
            self._healthy = healthy
            for user, project, details in exceeded:
                task = asyncio.create_task(self._enforce(user, project, details))
                self._enforcing.add(task)
                task.add_done_callback(self._enforcing.discard)

    def _write(self, batch: dict[tuple[str, str, str, str], list[int]]) -> list[tuple[str, str, dict]]:
        """One writer transaction: the counters, and the thresholds they reach with their audit events."""
        by_day: dict[str, dict[ledger.UsageKey, tuple[int, int]]] = defaultdict(dict)
        for (day, user, project, channel), (counted, raw) in batch.items():
            by_day[day][(user, project, channel)] = (counted, raw)
        exceeded, raised = [], []
        with self.db.transaction() as session:
            if session.get_bind().dialect.name == "postgresql":
                # SQLite's BEGIN IMMEDIATE serialises flushes; here the audit log's lock does, so two edges
                # never both raise the same threshold (a unique-key clash would fail the flush closed).
                session.execute(text(f"SELECT pg_advisory_xact_lock({AUDIT_LOCK})"))
            for day_text, deltas in by_day.items():
                day = date.fromisoformat(day_text)
                touched = {(u, p) for u, p, _ in deltas}
                ledger.add_bytes(session, day, deltas)
                budgets = budgets_of(session, self.settings, {p for _, p in touched})
                for (user, project), total in ledger.totals(session, day, touched).items():
                    budget = budgets[project].per_person
                    kinds = raise_new(session, day, user, project, total, budget)
                    raised += [(action_of(kind, user), project) for kind in kinds]
                    if EXCEEDED in kinds:
                        exceeded.append((user, project, {"day": day_text, "bytes": total, "budget": budget}))
                capped = {p for p, b in budgets.items() if b.project_cap is not None}
                for project, total in ledger.project_totals(session, day, capped).items():
                    # Spending the project's cap cuts everyone off today (blocked) but suspends no one.
                    kinds = raise_new(session, day, PROJECT_WIDE, project, total, budgets[project].project_cap)
                    raised += [(action_of(kind, PROJECT_WIDE), project) for kind in kinds]
        for action, project in raised:  # committed: the operators hear of it (in the background)
            self.notifier.tell(action, project)
        return exceeded

    def _read(
        self, today: date, pairs: set[Pair]
    ) -> tuple[dict[Pair, int], dict[str, int], dict[str, Budget], set[str]]:
        """Today's totals of every edge, the budgets and who is active, for the pairs this edge has seen."""
        users, projects = {u for u, _ in pairs}, {p for _, p in pairs}
        with self.db.reading() as session:
            totals = ledger.totals(session, today, pairs)
            project_totals = ledger.project_totals(session, today, projects)
            budgets = budgets_of(session, self.settings, projects)
            active = set(
                session.execute(
                    select(User.name).where(User.name.in_(users), User.status == AccountStatus.ACTIVE)
                ).scalars()
            )
        return totals, project_totals, budgets, active

    def _apply(
        self,
        today: date,
        pairs: set[Pair],
        totals: dict[Pair, int],
        project_totals: dict[str, int],
        budgets: dict[str, Budget],
        active: set[str],
    ) -> None:
        if self._day != today:
            return  # midnight passed during the read: today's view starts afresh
        for pair, total in totals.items():
            self._seen[pair] = total + self._unflushed(today, *pair)
        for project, total in project_totals.items():
            self._project_seen[project] = total + self._unflushed(today, None, project)
        self._budgets.update(budgets)
        # Only the people asked about: someone first seen during the read keeps their own status.
        self._active_users = (self._active_users - {u for u, _ in pairs}) | active

    def _unflushed(self, day: date, user: str | None, project: str) -> int:
        """Counted bytes not yet in the ledger, of one person (or, user None, everyone) in `project`."""
        day_text = day.isoformat()
        return sum(
            counted
            for (d, u, p, _), (counted, _raw) in self._pending.items()
            if d == day_text and p == project and user in (None, u)
        )

    async def _enforce(self, user: str, project: str, details: dict) -> None:
        try:
            await asyncio.to_thread(enforce_exceeded, self.settings, self.db, self.workspaces, user, project, details)
        except Exception:
            # The flow stays cut (the budget is used up); the operator sees metering.exceeded in the audit.
            log.exception("could not suspend %s or stop %s/%s after the budget was exceeded", user, project, user)
        finally:
            self._active_users.discard(user)

    async def close(self) -> None:
        """Stop the periodic task, write out what is left and finish any enforcement under way."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.flush()
        if self._journal is not None:
            self._journal.close(ledger_has_all=not self._pending)
        if self._enforcing:
            await asyncio.gather(*self._enforcing, return_exceptions=True)
