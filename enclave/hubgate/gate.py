"""The hub gate: an aiohttp filter between project networks and the hub's own API.

Workspaces reach the host on one port only (settings.hub_port, admitted per
project bridge by ENCLAVE-INPUT). The gate listens there and passes the few
calls of policy.py to the hub on loopback (settings.hub_internal_port);
everything else is answered 403 with a JSON message and recorded in the audit
log as `hubgate.refused` (repeats folded as the edge does). Only a few request
headers are passed on: no cookies, no forwarding headers a workspace made up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ..edge.refusals import REPEAT_WINDOW, RefusalAudit
from ..state import audit
from ..state.db import StateDB, open_state_db
from .policy import BODY_LIMIT, GateDecision, decide
from .sources import WorkspaceSources

log = logging.getLogger("enclave.hubgate")

PREFIX = "Refused by the enclave's hub gate"
MARKER = "X-Enclave-Hubgate"
ACTION = "hubgate.refused"
ACTOR = "hubgate"
LISTEN_IP = "0.0.0.0"  # every project gateway is one of the host's addresses; the firewall keeps others out
FORWARDED_REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept", "User-Agent")
DROPPED_RESPONSE_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "set-cookie",
    "upgrade",
    "proxy-authenticate",
    "trailer",
    "te",
}
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=60)
ROUTES_PER_SOURCE = 30  # refusals recorded one by one per source and repeat window; the rest fold under ANY_ROUTE
ANY_ROUTE = "(many routes)"


class GateAudit(RefusalAudit):
    """The edge's folding of repeated refusals, recorded under the gate's own action.

    A kernel can send refused calls as fast as it likes, each to a new path; so
    past ROUTES_PER_SOURCE distinct records from one source within the repeat
    window, its further refusals are recorded under the route ANY_ROUTE, where
    they fold like repeats: the audit log stays readable and cannot be flooded.
    """

    def __init__(self, db: StateDB, clock=time.monotonic):
        super().__init__(db, clock)
        self._routes: dict[str, dict[str, float]] = {}  # source -> route -> when it was last recorded

    async def record(self, *, route: str, client: str, **kwargs) -> None:
        now = self.clock()
        routes = {r: at for r, at in self._routes.get(client, {}).items() if now - at < REPEAT_WINDOW}
        if route not in routes and len(routes) >= ROUTES_PER_SOURCE:
            route = ANY_ROUTE
        elif route not in routes:
            routes[route] = now
        self._routes[client] = routes
        await super().record(route=route, client=client, **kwargs)

    def _write(self, target: str, details: dict) -> None:
        try:
            with self.db.transaction() as session:
                audit.record(session, actor=ACTOR, action=ACTION, target=target, outcome="refused", details=details)
        except Exception:  # noqa: BLE001 - the refusal stands; the failure to record it is logged loudly
            log.exception("could not record a hub gate refusal in the audit log: %s", details)


def refusal(decision: GateDecision) -> web.Response:
    body = {"message": f"{PREFIX}: {decision.message}", "reason": decision.reason}
    return web.Response(status=403, text=json.dumps(body), content_type="application/json", headers={MARKER: "refused"})


async def _read_capped(request: web.Request) -> bytes:
    """The body, or its first BODY_LIMIT + 1 bytes when it is longer (enough to refuse it)."""
    body = b""
    while len(body) <= BODY_LIMIT:
        chunk = await request.content.read(BODY_LIMIT + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return body


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Every call the gate sees, without query strings (a token in a URL is never written to a log)."""

    def log(self, request, response, time):
        self.logger.info(
            "%s %s %s %s %s",
            request.remote,
            request.method,
            request.path,
            response.status,
            response.headers.get(MARKER, "passed"),
        )


class HubGate:
    """Judges each request (policy.decide), forwards what passes to the hub, refuses and records the rest."""

    def __init__(self, upstream: str, refusals: RefusalAudit, sources: WorkspaceSources):
        self.upstream = upstream.rstrip("/")
        self.refusals = refusals
        self.sources = sources
        self._session: aiohttp.ClientSession | None = None

    async def _owner(self, address: str | None):
        if not address:
            return None
        return await asyncio.get_running_loop().run_in_executor(None, self.sources.workspace_at, address)

    async def _refuse(self, request: web.Request, decision: GateDecision, workspace=None) -> web.Response:
        workspace = workspace or await self._owner(request.remote)
        await self.refusals.record(
            reason=decision.reason,
            route=decision.route,
            method=request.method,
            client=request.remote or "-",
            user=workspace.user if workspace else None,
            server=workspace.project if workspace else None,
        )
        return refusal(decision)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw_path, _, query = request.raw_path.partition("?")
        body_length = (
            request.content_length if request.content_length is not None else (None if request.body_exists else 0)
        )
        workspace = None
        decision = decide(request.method, raw_path, query, None, body_length)
        if decision.reason == "activity-not-own":  # the one call that depends on who is asking
            workspace = await self._owner(request.remote)
            decision = decide(request.method, raw_path, query, workspace.user if workspace else None, body_length)
        if not decision.allowed:
            return await self._refuse(request, decision, workspace)
        body = await _read_capped(request)
        if len(body) > BODY_LIMIT:  # a chunked body that declared no length
            too_large = GateDecision(
                False, decision.route, reason="body-too-large", message=f"the request body is over {BODY_LIMIT} bytes."
            )
            return await self._refuse(request, too_large, workspace)
        return await self._forward(request, decision.forward_path, body)

    async def _forward(self, request: web.Request, path: str, body: bytes) -> web.Response:
        headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
        try:
            async with self._session.request(
                request.method, self.upstream + path, headers=headers, data=body or None, allow_redirects=False
            ) as reply:
                content = await reply.read()
                passed = {k: v for k, v in reply.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS}
                return web.Response(status=reply.status, body=content, headers=passed)
        except (TimeoutError, aiohttp.ClientError) as failed:
            log.warning("the hub did not answer %s %s: %s", request.method, path, failed)
            body = {"message": "The enclave's hub gate could not reach the hub.", "reason": "upstream-unreachable"}
            return web.Response(
                status=502, text=json.dumps(body), content_type="application/json", headers={MARKER: "upstream-error"}
            )

    async def _open(self, app: web.Application) -> None:
        self._session = aiohttp.ClientSession(
            timeout=UPSTREAM_TIMEOUT, auto_decompress=True, skip_auto_headers=("User-Agent",)
        )

    async def _close(self, app: web.Application) -> None:
        await self.refusals.drain()
        if self._session is not None:
            await self._session.close()

    def application(self) -> web.Application:
        app = web.Application(client_max_size=BODY_LIMIT + 1)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app


def gate_for(settings, db: StateDB | None = None, sources: WorkspaceSources | None = None) -> HubGate:
    return HubGate(
        settings.hub_internal_url,
        GateAudit(db or open_state_db(settings.database_url)),
        sources or WorkspaceSources(settings.instance, swarm=settings.spawner == "enclave-swarm"),
    )


async def serve(settings, stop: asyncio.Event | None = None) -> None:
    if settings.spawner == "enclave":
        # Only loopback and project bridges may reach the gate's port (fails closed: no iptables, no gate).
        # In swarm mode the hub container's own filter does this (enclave/swarm/hub_firewall.py).
        from ..isolation.firewall import guard_hub_port

        guard_hub_port(settings.instance, settings.hub_port)
    runner = web.AppRunner(gate_for(settings).application(), access_log_class=PathOnlyAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, LISTEN_IP, settings.hub_port)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await site.start()
        log.info("hub gate listening on %s:%s -> %s", LISTEN_IP, settings.hub_port, settings.hub_internal_url)
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    from ..settings import EnclaveSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(EnclaveSettings()))
