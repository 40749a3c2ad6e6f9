"""Real receivers for notifications, on loopback: an SMTP server (aiosmtpd) and a webhook (aiohttp),
and a directory of people (roles and emails) for the airlock's notifications."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_content()


class MailCatcher:
    """A real SMTP server on loopback that keeps every mail it accepts."""

    def __init__(self):
        self.mails: list[Mail] = []
        self.running = False
        catcher = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                catcher.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
                return "250 OK"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> MailCatcher:
        self._controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        """Stop listening (a test may stop it early to play a mail server that is down)."""
        if self.running:
            self._controller.stop()
            self.running = False

    def wait_for(self, count: int, timeout: float = 30) -> list[Mail]:
        _wait(lambda: len(self.mails) >= count, timeout, lambda: f"{len(self.mails)} mails")
        return self.mails


class WebhookReceiver:
    """A real HTTP server on loopback: keeps each JSON body; answers 503 to the first ``fail_first``."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.attempts = 0
        self.bodies: list[dict] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/secret-token"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    async def _receive(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.attempts <= self.fail_first:
            return web.Response(status=503, text="down for the test")
        self.bodies.append(json.loads(await request.read()))
        return web.Response(text="ok")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/hooks/{token}", self._receive)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> WebhookReceiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        _wait(lambda: len(self.bodies) >= count, timeout, lambda: f"{len(self.bodies)} posts")
        return self.bodies


@dataclass
class People:
    """Roles and emails, as the enclave's directory gives them to the airlock."""

    roles: dict[str, list[str]] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    def people_with_role(self, role: str) -> list[str]:
        return list(self.roles.get(role, []))

    def email_of(self, user: str) -> str | None:
        return self.emails.get(user)


def _wait(done, timeout: float, state) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s with {state()}")
        time.sleep(0.05)


@pytest.fixture
def mail():
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""
    catcher = MailCatcher().start()
    yield catcher
    catcher.stop()


@pytest.fixture
def webhook():
    """A real HTTP receiver on loopback that keeps the JSON posted to it."""
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()
