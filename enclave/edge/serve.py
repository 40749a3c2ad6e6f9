"""Running the edge: the meter, the certificate, the proxy and the listener, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ..metering import CountJournal, EgressMeter  # no meter, no edge: an import failure stops the start (fail closed)
from ..settings import EnclaveSettings
from ..state.db import open_state_db
from .listener import EdgeListener, plain_http_application
from .proxy import EdgeProxy
from .refusals import RefusalAudit
from .static import StaticAssets
from .tls import certificate_for, describe, server_context
from .uploads import UploadLimits

log = logging.getLogger("enclave.edge")

HEADER_LIMIT = 64 * 1024


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without query strings, so a token put in a URL is never written to a log."""

    def log(self, request, response, time):
        self.logger.info(
            "%s %s %s %s %s %.3fs",
            request.remote,
            request.method,
            request.path,
            response.status,
            response.headers.get("X-Enclave-Edge", "-"),
            time,
        )


def edge_runner(app: web.Application) -> web.AppRunner:
    # Header limits above aiohttp's 8 KiB: the hub sets one cookie per workspace a person opens.
    return web.AppRunner(
        app,
        access_log_class=PathOnlyAccessLogger,
        handler_cancellation=True,
        max_line_size=HEADER_LIMIT,
        max_field_size=HEADER_LIMIT,
    )


async def serve(settings: EnclaveSettings, stop: asyncio.Event | None = None) -> None:
    chosen = certificate_for(settings)
    context = server_context(chosen)
    meter = EgressMeter(settings, journal=CountJournal(settings.state_path / "edge" / "journal"))
    await meter.start()
    db = open_state_db(settings.database_url)
    proxy = EdgeProxy(
        f"http://127.0.0.1:{settings.proxy_port}",
        meter,
        RefusalAudit(db),
        StaticAssets.from_settings(settings, db),
        declared_apps=frozenset(settings.edge_declared_apps),
        contents_limit=settings.edge_max_file_content_bytes,
        public_port=settings.public_port,
        upload_limits=UploadLimits(settings.edge_upload_max_bytes, settings.edge_request_body_max_bytes),
    )
    tls_runner = edge_runner(proxy.application())
    plain_runner = web.AppRunner(plain_http_application(settings.public_port), access_log_class=PathOnlyAccessLogger)
    await tls_runner.setup()
    await plain_runner.setup()
    listener = EdgeListener(tls_runner, plain_runner, settings.public_ip, settings.public_port, context)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await listener.start()
        log.info(
            "edge listening on https://%s:%s -> http://127.0.0.1:%s\n%s",
            settings.public_ip,
            settings.public_port,
            settings.proxy_port,
            describe(chosen),
        )
        await stop.wait()
    finally:
        await listener.stop()
        await tls_runner.cleanup()
        await plain_runner.cleanup()
        await meter.close()


def main(settings: EnclaveSettings | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(settings or EnclaveSettings()))
