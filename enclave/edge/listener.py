"""One public port for both HTTPS and plain HTTP: TLS is served, plain HTTP redirected or refused.

Each accepted connection's first byte is peeked at: a TLS handshake starts
with 0x16 and goes to the edge's application over TLS; anything else goes to
a small plain-HTTP application that redirects GET and HEAD to the same
address over HTTPS and refuses every other method (a form or API call sent in
clear is not repeated; its sender is told to use HTTPS).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl

from aiohttp import web

from .headers import EDGE_MARKER
from .refusals import PREFIX

log = logging.getLogger(__name__)

TLS_HANDSHAKE = 0x16
FIRST_BYTE_TIMEOUT = 30.0


def plain_http_application(public_port: int) -> web.Application:
    async def to_https(request: web.Request) -> web.Response:
        host = request.url.host or "localhost"
        host = f"[{host}]" if ":" in host else host
        target = f"https://{host}:{public_port}{request.raw_path}"
        if request.method in ("GET", "HEAD"):
            return web.Response(status=301, headers={"Location": target, EDGE_MARKER: "redirect-to-https"})
        return web.Response(
            status=400,
            headers={EDGE_MARKER: "refused"},
            content_type="text/plain",
            text=f"{PREFIX}: this enclave answers only over HTTPS. Send the request again "
            f"to https://{host}:{public_port}/.\n",
        )

    app = web.Application()
    app.router.add_route("*", "/{anything:.*}", to_https)
    return app


class EdgeListener:
    def __init__(
        self, tls_runner: web.AppRunner, plain_runner: web.AppRunner, host: str, port: int, context: ssl.SSLContext
    ):
        self.tls_runner = tls_runner
        self.plain_runner = plain_runner
        self.host = host
        self.port = port
        self.context = context
        self.sock: socket.socket | None = None
        self._accepting: asyncio.Task | None = None
        self._routing: set[asyncio.Task] = set()

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(512)
        sock.setblocking(False)
        self.sock = sock
        self._accepting = asyncio.create_task(self._accept())

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(self.sock)
            conn.setblocking(False)
            task = asyncio.create_task(self._route(conn))
            self._routing.add(task)
            task.add_done_callback(self._routing.discard)

    async def _route(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            readable = loop.create_future()
            loop.add_reader(conn.fileno(), lambda: readable.done() or readable.set_result(None))
            try:
                await asyncio.wait_for(readable, FIRST_BYTE_TIMEOUT)
            finally:
                loop.remove_reader(conn.fileno())
            first = conn.recv(1, socket.MSG_PEEK)
            if not first:
                conn.close()
                return
            if first[0] == TLS_HANDSHAKE:
                await loop.connect_accepted_socket(
                    self.tls_runner.server, conn, ssl=self.context, ssl_handshake_timeout=FIRST_BYTE_TIMEOUT
                )
            else:
                await loop.connect_accepted_socket(self.plain_runner.server, conn)
        except (TimeoutError, OSError, ssl.SSLError) as failed:
            log.debug("connection dropped before a request: %s", failed)
            conn.close()

    async def stop(self) -> None:
        if self._accepting:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        for task in list(self._routing):
            task.cancel()
        if self.sock:
            self.sock.close()
