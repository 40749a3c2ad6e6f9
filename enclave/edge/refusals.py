"""The edge's refusals: the response the browser gets, and the audit event each one leaves.

Every refusal carries the header `X-Enclave-Edge: refused` and a message
beginning "Refused by the enclave's edge", so a refusal by the edge can be told
from one by the workspace's own lockdown. The same refusal repeated (same
reason, route, user and client) within `REPEAT_WINDOW` seconds is counted
rather than recorded again; the first is always recorded, and the next one
recorded says how many were folded into it.

The same writer records the edge's other events (`record_event`): uploads and inbound websocket volume
(enclave.edge.uploads).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from aiohttp import web

from ..state import audit
from ..state.db import StateDB
from .headers import EDGE_MARKER
from .policy import Decision

log = logging.getLogger(__name__)

PREFIX = "Refused by the enclave's edge"
ACTION = "edge.refused"
ACTOR = "edge"
REPEAT_WINDOW = 60.0


def refusal_response(status: int, reason: str, message: str) -> web.Response:
    body = {"message": f"{PREFIX}: {message}", "reason": reason}
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers={EDGE_MARKER: "refused"}
    )


def upstream_error_response(message: str) -> web.Response:
    """Not a refusal: the hub's proxy behind the edge did not answer."""
    body = {"message": f"The enclave's edge could not reach the hub: {message}", "reason": "upstream-unreachable"}
    return web.Response(
        status=502, text=json.dumps(body), content_type="application/json", headers={EDGE_MARKER: "upstream-error"}
    )


def decision_response(decision: Decision) -> web.Response:
    return refusal_response(decision.status, decision.reason, decision.message)


class RefusalAudit:
    """Records refusals as `edge.refused` events in the enclave's audit log (and other edge events), off the
    event loop."""

    def __init__(self, db: StateDB, clock=time.monotonic):
        self.db = db
        self.clock = clock
        self._last: dict[tuple, float] = {}
        self._folded: dict[tuple, int] = {}
        self._pending: set[asyncio.Future] = set()

    async def record(
        self,
        *,
        reason: str,
        route: str,
        method: str,
        client: str,
        user: str | None = None,
        server: str | None = None,
        detail: str = "",
        facts: dict | None = None,
    ) -> None:
        """Record before the refusal is answered, so a refusal the client sees is already on record."""
        key = (reason, route, user, client)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < REPEAT_WINDOW:
            self._folded[key] = self._folded.get(key, 0) + 1
            return
        self._last[key] = now
        details = {"route": route, "reason": reason, "method": method, "client": client}
        if user:
            details["user"], details["project"] = user, server
        if detail:
            details["detail"] = detail
        if facts:
            details.update(facts)
        folded = self._folded.pop(key, 0)
        if folded:
            details["repeats_folded"] = folded
        # A client going away does not cancel the record.
        await asyncio.shield(self._submit(self._write, user or "-", details))

    def record_event(self, action: str, outcome: str, target: str, details: dict) -> asyncio.Future:
        """Another of the edge's events (an upload, inbound volume), written off the event loop like refusals;
        await the future to know it is recorded (drain() waits for all)."""
        return self._submit(self._write_event, action, outcome, target, details)

    def _submit(self, write, *args) -> asyncio.Future:
        future = asyncio.get_running_loop().run_in_executor(None, write, *args)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def _write(self, target: str, details: dict) -> None:
        """A refusal's record (the hub gate records its own under its own action)."""
        self._write_event(ACTION, "refused", target, details)

    def _write_event(self, action: str, outcome: str, target: str, details: dict) -> None:
        try:
            with self.db.transaction() as session:
                audit.record(session, actor=ACTOR, action=action, target=target, outcome=outcome, details=details)
        except Exception:  # noqa: BLE001 - the answer stands; the failure to record it is logged loudly
            log.exception("could not record an edge event (%s) in the audit log: %s", action, details)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
