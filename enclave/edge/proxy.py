"""The reverse proxy: every request to the enclave passes here on its way to the hub's proxy.

HTTP bodies stream both ways (only contents API responses are held, up to the
size check's cap); websockets are relayed frame by frame both ways. Every
response that can carry analyst-influenced bytes (enclave.edge.policy says
which) goes through one metered stream (enclave.metering, contract C2), head
included: a workspace's against the path's owner and server, the hub's and
the airlock's against the person they name in X-Enclave-Recipient (read and
removed here). An unnamed hub or airlock answer over `UNNAMED_LIMIT` bytes is
refused (fail closed). When the meter says the budget is spent, the response
is refused before it starts, cut during its body, or the websocket closed.

What a browser sends to a workspace is judged on the way in (enclave.edge.uploads): request bodies must
say their length and stay within the request cap; contents API writes are read whole (within that cap),
capped per file and audited with their hash; websocket messages are capped one by one and their volume
audited when the connection closes.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from yarl import URL

from .contents import PASS, REFUSE, ContentsCheck
from .headers import (
    add_security_headers,
    downstream_response_headers,
    named_recipient,
    released_file,
    serialised_head,
    upstream_request_headers,
)
from .policy import AIRLOCK, EDGE_ANSWER, HUB, TOKEN_IN_URL, WORKSPACE, Decision, decide
from .refusals import PREFIX, RefusalAudit, decision_response, refusal_response, upstream_error_response
from .uploads import INBOUND_ACTION, UPLOAD_ACTION, InboundCount, InboundGate, Refusal, Upload, UploadLimits

log = logging.getLogger(__name__)

BUDGET_SPENT = "metering-budget"
NO_RECIPIENT = "no-recipient"
# Largest hub or airlock answer that names no recipient (a login page, a redirect, an error): passed
# unmetered since it is sent before anyone is logged in; anything larger must say whom it is for.
UNNAMED_LIMIT = 16 * 1024
WS_POLICY_VIOLATION = 1008
# Headers aiohttp's client would otherwise add on its own.
_NO_AUTO_HEADERS = ("User-Agent", "Accept-Encoding", "Content-Type")


class EdgeProxy:
    def __init__(
        self,
        upstream: str,
        meter,
        refusals: RefusalAudit,
        static,
        *,
        declared_apps: frozenset[str],
        contents_limit: int,
        public_port: int,
        upload_limits: UploadLimits = UploadLimits(),
    ):
        self.upstream = upstream.rstrip("/")  # http://127.0.0.1:<proxy_port>
        self.meter = meter
        self.static = static  # enclave.edge.static.StaticAssets: the workspace image's static files
        self.refusals = refusals
        self.declared_apps = declared_apps
        self.contents_limit = contents_limit
        self.public_port = public_port
        self.inbound = InboundGate(upload_limits)  # what browsers send to workspaces
        self.session: aiohttp.ClientSession | None = None
        self._websockets: set[web.WebSocketResponse] = set()  # open to browsers, closed when the edge stops

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self, app: web.Application | None = None) -> None:
        self.session = aiohttp.ClientSession(
            # No cookie jar: cookies belong to each browser, never to the edge.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=512),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            max_line_size=64 * 1024,
            max_field_size=64 * 1024,
        )

    async def close(self, app: web.Application | None = None) -> None:
        if self.session:
            await self.session.close()
        await self.refusals.drain()

    async def close_websockets(self, app: web.Application | None = None) -> None:
        """The edge is stopping: end every websocket (1001, going away) so that its handler finishes and
        its counts are written, instead of the stop waiting for kernels to fall silent."""
        for browser in list(self._websockets):
            await browser.close(code=WSCloseCode.GOING_AWAY, message=f"{PREFIX}: the edge is restarting".encode())

    def application(self) -> web.Application:
        app = web.Application(client_max_size=0)
        app.on_startup.append(self.open)
        app.on_shutdown.append(self.close_websockets)
        app.on_cleanup.append(self.close)
        app.on_response_prepare.append(_secure_headers)
        app.router.add_route("*", "/{anything:.*}", self.handle)
        return app

    # --- one request -------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path, _, query = request.raw_path.partition("?")
        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        decision = decide(request.method, path, query, websocket=websocket, declared_apps=self.declared_apps)
        if decision.rest is not None and decision.reason != TOKEN_IN_URL and not websocket:
            # Static addresses of a workspace are the edge's own answer (file, 404 or 503), never relayed.
            found = self.static.lookup(decision.user, decision.server, decision.rest, query)
            if found is not None:
                return await self.static.response_for(found, request)
        if decision.refused:
            await self._audit(request, decision.reason, decision)
            return decision_response(decision)
        if decision.kind == EDGE_ANSWER:
            return web.Response(text=decision.answer, content_type="application/json")
        if decision.kind == WORKSPACE and self.meter.blocked(decision.user, decision.server):
            return _budget_spent()
        if websocket:
            return await self._relay_websocket(request, decision)
        return await self._relay_http(request, decision)

    async def _audit(
        self, request: web.Request, reason: str, decision: Decision, detail: str = "", facts: dict | None = None
    ) -> None:
        await self.refusals.record(
            reason=reason,
            route=decision.route,
            method=request.method,
            client=request.remote or "",
            user=decision.user,
            server=decision.server,
            detail=detail,
            facts=facts,
        )

    def _upstream_url(self, request: web.Request) -> URL:
        return URL(self.upstream + request.raw_path, encoded=True)

    def _upstream_headers(self, request: web.Request, websocket: bool = False):
        host = request.headers.get("Host", "")
        return upstream_request_headers(
            request.headers, request.remote or "", host, self.public_port, websocket=websocket
        )

    def _metered_stream(self, decision: Decision, upstream_headers):
        """The meter's stream for one response, or None when it is not metered or names no recipient."""
        if decision.kind == WORKSPACE:
            return self.meter.stream(decision.user, decision.server, decision.channel)
        if decision.kind in (HUB, AIRLOCK):
            recipient, project = named_recipient(upstream_headers)
            if recipient is None:
                return None
            # The hub's answers concern no project; the airlock names one when its answer concerns one.
            project = project if decision.kind == AIRLOCK and project else decision.default_project
            return self.meter.stream(recipient, project, decision.channel)
        return None

    async def _relay_http(self, request: web.Request, decision: Decision) -> web.StreamResponse:
        headers = self._upstream_headers(request)
        if decision.check_contents:
            headers["Accept-Encoding"] = "identity"  # the check reads the body as sent
        body = request.content if request.body_exists else None
        upload, contents_write = None, False
        if decision.kind == WORKSPACE:  # what comes in: judged before anything reaches the workspace
            refusal = self.inbound.check_length(request.body_exists, request.content_length)
            contents_write = refusal is None and self.inbound.is_contents_write(request.method, decision)
            if contents_write:
                body = await request.read()  # within the request cap, its length known
                judged = self.inbound.judge_contents_write(request.method, decision, body)
                refusal, upload = (judged, None) if isinstance(judged, Refusal) else (None, judged)
            elif request.method == "DELETE":
                self.inbound.forget(decision)
            if refusal is not None:
                return await self._refuse_inbound(request, decision, refusal)
        try:
            upstream = await self.session.request(
                request.method,
                self._upstream_url(request),
                headers=headers,
                data=body,
                allow_redirects=False,
                skip_auto_headers=_NO_AUTO_HEADERS,
            )
        except aiohttp.ClientError as error:
            log.warning("upstream unreachable for %s %s: %s", request.method, decision.route, error)
            return upstream_error_response("try again in a moment, or ask an operator to check the hub.")
        try:
            if contents_write:
                await self._settle_upload(request, decision, upload, upstream.status)
            response = web.StreamResponse(
                status=upstream.status, reason=upstream.reason, headers=downstream_response_headers(upstream.headers)
            )
            if _released_download(decision, upstream.headers):
                # Reviewed output, released by the airlock: the door results are meant to leave by.
                return await self._stream(request, decision, upstream, response, b"", None)
            stream = self._metered_stream(decision, upstream.headers)
            if stream is None and decision.kind in (HUB, AIRLOCK):
                return await self._relay_unnamed(request, decision, upstream, response)
            if decision.check_contents:
                return await self._relay_checked_contents(request, decision, upstream, response, stream)
            return await self._stream(request, decision, upstream, response, b"", stream)
        finally:
            upstream.release()

    async def _refuse_inbound(self, request, decision: Decision, refusal: Refusal) -> web.Response:
        """Refused on the way in: audited with what was sent; chunks of the upload already written removed."""
        facts = dict(refusal.facts)
        if refusal.remove_partial:
            facts["partial_removed"] = await self._delete_partial(request)
        await self._audit(request, refusal.reason, decision, facts=facts)
        return refusal_response(refusal.status, refusal.reason, refusal.message)

    async def _delete_partial(self, request: web.Request) -> bool:
        """Delete the file an upload left half-written, as the person who uploaded it (their own headers)."""
        headers = self._upstream_headers(request)
        for name in ("Content-Length", "Content-Type"):
            headers.popall(name, None)
        url = URL(self.upstream + request.raw_path.partition("?")[0], encoded=True)
        try:
            async with self.session.delete(
                url, headers=headers, allow_redirects=False, skip_auto_headers=_NO_AUTO_HEADERS
            ) as reply:
                return reply.status == 204
        except aiohttp.ClientError as error:
            log.warning("could not remove the partial upload %s: %s", request.path, error)
            return False

    async def _settle_upload(self, request, decision: Decision, upload: Upload | None, status: int) -> None:
        """The workspace answered a contents write: audit what it took (before the browser hears so)."""
        if not 200 <= status < 300:
            self.inbound.forget(decision)  # not written, or half: an upload there cannot go on
            return
        if upload is not None:
            details = {
                **upload.facts,
                "route": decision.route,
                "client": request.remote or "",
                "user": decision.user,
                "project": decision.server,
            }
            await asyncio.shield(self.refusals.record_event(UPLOAD_ACTION, "ok", decision.user, details))

    async def _relay_unnamed(self, request, decision: Decision, upstream, response) -> web.StreamResponse:
        """A hub or airlock answer naming nobody: passed only when it is small, else refused (502, audited)."""
        announced = 0 if request.method == "HEAD" else upstream.content_length or 0  # HEAD: a length, no body
        if announced <= UNNAMED_LIMIT:
            body = bytearray()
            async for chunk in upstream.content.iter_any():
                body += chunk
                if len(body) > UNNAMED_LIMIT:
                    break
            else:
                await response.prepare(request)
                await response.write(bytes(body))
                await response.write_eof()
                return response
        why = f"the answer is larger than {UNNAMED_LIMIT} bytes and names no recipient to count it against"
        await self._audit(request, NO_RECIPIENT, decision, why)
        return refusal_response(502, NO_RECIPIENT, f"{why}. This is a fault of the enclave: tell an operator.")

    async def _relay_checked_contents(self, request, decision, upstream, response, stream) -> web.StreamResponse:
        encoding = upstream.headers.get("Content-Encoding", "identity").lower()
        if encoding != "identity":
            return await self._refuse_contents(
                request, decision, f"the response is encoded ({encoding})", "contents-unreadable"
            )
        check = ContentsCheck(self.contents_limit, upstream.status)
        verdict = None
        async for chunk in upstream.content.iter_any():
            verdict = check.feed(chunk)
            if verdict != "hold":
                break
        if verdict == REFUSE:
            return await self._refuse_contents(request, decision, check.why, check.reason)
        if verdict != PASS:  # the whole body is in: judge it
            if check.finish() == REFUSE:
                return await self._refuse_contents(request, decision, check.why, check.reason)
        return await self._stream(request, decision, upstream, response, bytes(check.buffer), stream)

    async def _refuse_contents(self, request, decision: Decision, why: str, reason: str) -> web.Response:
        await self._audit(request, reason, decision, why)
        return refusal_response(
            403,
            reason,
            f"{why}. Files this large, or answers the edge cannot check, are "
            "not opened in the browser in the enclave; work on the file in a notebook, and "
            "take results out through the airlock (egress review).",
        )

    async def _stream(
        self, request, decision: Decision, upstream, response: web.StreamResponse, first: bytes, stream
    ) -> web.StreamResponse:
        """Send the response, its head and each chunk counted first (`stream` None: not metered)."""
        if stream is not None:
            if not stream.send(serialised_head(response.status, response.reason, response.headers)):
                return _budget_spent()
            if first and not stream.send(first):
                return _budget_spent()
        await response.prepare(request)
        if first:
            await response.write(first)
        async for chunk in upstream.content.iter_any():
            if stream is not None and not stream.send(chunk):
                log.warning(
                    "metering budget spent: cutting %s (%s/%s on %s)",
                    decision.route,
                    stream.user,
                    stream.project,
                    stream.channel,
                )
                request.transport.close() if request.transport else None
                return response
            await response.write(chunk)
        await response.write_eof()
        return response

    async def _relay_websocket(self, request: web.Request, decision: Decision) -> web.StreamResponse:
        protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        try:
            upstream = await self.session.ws_connect(
                self._upstream_url(request),
                headers=self._upstream_headers(request, websocket=True),
                protocols=protocols,
                max_msg_size=0,
                autoping=True,
                compress=0,
            )
        except aiohttp.WSServerHandshakeError as refused:
            return web.Response(status=refused.status, text=f"The workspace refused the websocket ({refused.status}).")
        except aiohttp.ClientError as error:
            log.warning("upstream websocket unreachable for %s: %s", decision.route, error)
            return upstream_error_response("try again in a moment, or ask an operator to check the hub.")
        # No permessage-deflate to the browser (as jupyter_server itself offers none): compressing every
        # frame halved kernel output through the edge (docs/benchmarks.md, the egress benchmark).
        browser = web.WebSocketResponse(
            protocols=[upstream.protocol] if upstream.protocol else (), max_msg_size=0, autoping=True, compress=False
        )
        await browser.prepare(request)
        self._websockets.add(browser)
        # Websockets pass only under a workspace (policy): counted against its owner and server.
        stream = self.meter.stream(decision.user, decision.server, decision.channel)
        to_browser = asyncio.create_task(_pump_to_browser(upstream, browser, stream))
        inbound = InboundCount()
        to_upstream = asyncio.create_task(self._pump_from_browser(request, decision, browser, upstream, inbound))
        try:
            await asyncio.wait({to_browser, to_upstream}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (to_browser, to_upstream):
                task.cancel()
            await asyncio.gather(to_browser, to_upstream, return_exceptions=True)
            if not upstream.closed:
                await upstream.close()
            if not browser.closed:
                await browser.close()
            self._websockets.discard(browser)
            if inbound.messages:  # not awaited: the connection is over; drain() waits for it at shutdown
                self.refusals.record_event(
                    INBOUND_ACTION,
                    "ok",
                    decision.user,
                    {
                        "route": decision.route,
                        "channel": decision.channel,
                        "user": decision.user,
                        "project": decision.server,
                        "bytes": inbound.bytes,
                        "messages": inbound.messages,
                    },
                )
        return browser

    async def _pump_from_browser(
        self, request, decision: Decision, browser: web.WebSocketResponse, upstream, inbound: InboundCount
    ) -> None:
        """Browser to workspace: each message within the cap (else the websocket is closed), all counted."""
        async for message in browser:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                text = message.type == WSMsgType.TEXT
                data = message.data.encode("utf-8", "surrogatepass") if text else message.data
                refusal = self.inbound.message_refusal(len(data))
                if refusal is not None:
                    await self._audit(request, refusal.reason, decision, facts=refusal.facts)
                    await browser.close(code=refusal.status, message=f"{PREFIX}: message too large".encode())
                    return
                inbound.add(len(data))
                await _send(upstream, message)
            elif message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                return


async def _pump_to_browser(upstream, browser: web.WebSocketResponse, stream) -> None:
    async for message in upstream:
        if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            data = message.data.encode() if message.type == WSMsgType.TEXT else message.data
            if not stream.send(data):
                await browser.close(code=WS_POLICY_VIOLATION, message=f"{PREFIX}: data budget spent".encode()[:120])
                return
            await _send(browser, message)
        elif message.type == WSMsgType.CLOSE:
            await browser.close(code=upstream.close_code or 1000)
            return
        elif message.type == WSMsgType.ERROR:
            return


def _budget_spent() -> web.Response:
    return refusal_response(
        429,
        BUDGET_SPENT,
        "the data budget for today is spent, or the account is suspended. An operator can tell you more.",
    )


def _released_download(decision: Decision, upstream_headers) -> bool:
    """An airlock answer that is a released file's download, to a named person (only the airlock says so)."""
    return (
        decision.kind == AIRLOCK
        and released_file(upstream_headers) is not None
        and named_recipient(upstream_headers)[0] is not None
    )


async def _send(target, message) -> None:
    if message.type == WSMsgType.TEXT:
        await target.send_str(message.data)
    else:
        await target.send_bytes(message.data)


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    add_security_headers(response.headers)
