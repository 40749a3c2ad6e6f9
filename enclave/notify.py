"""Notifications to the enclave's operators: metering alerts and suspensions, by email and by webhook.

The airlock tells reviewers and analysts of requests itself (egress_review/notify/), configured from the
same notify_* settings through its service's environment (``airlock_environment``). This module is its
counterpart for the enclave's own events, with the same rules and the same JSON body on the webhook: fixed
wording, the project, the time and a link; never a person's data or anything an analyst wrote. Sending
happens in a background thread, retried with backoff, so the meter never waits for a mail server; every
send and every failed attempt is audited (notification.sent, notification.failed).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlparse

import requests

from .settings import EnclaveSettings
from .state import audit
from .state.db import StateDB
from .state.models import Role
from .state.queries import email_of, people_with_role

log = logging.getLogger(__name__)

ACTOR = "notify"
TIMEOUT_SECONDS = 15
RETRY_DELAYS_SECONDS = (30, 60, 120, 300, 900, 1800, 3600)  # then it is given up (audited)

#: What operators are told of, in fixed words.
HEADLINES = {
    "metering.alert": "Someone in the project has used half of their egress budget today",
    "metering.exceeded": "Someone in the project used all of their egress budget: they are suspended and "
    "their workspace stopped",
    "metering.project-alert": "The project has used half of its egress cap today",
    "metering.project-exceeded": "The project used all of its egress cap: its members are cut off until tomorrow",
}


@dataclass(frozen=True)
class OperatorNotice:
    event: str
    project: str
    at: dt.datetime
    link: str

    @property
    def headline(self) -> str:
        return HEADLINES[self.event]

    @property
    def subject(self) -> str:
        return f"[enclave] {self.headline} ({self.project})"

    @property
    def text(self) -> str:
        return (
            f"{self.headline}.\n\nProject: {self.project}\nTime: {self.at.isoformat(timespec='seconds')}\n\n"
            f"Details: 'enclave audit show --action {self.event}' on the enclave's host, or {self.link}\n"
        )

    def payload(self) -> dict:
        """The webhook's JSON body: the same keys as the airlock's notices (request_id is null here)."""
        return {
            "event": self.event,
            "request_id": None,
            "project": self.project,
            "at": self.at.isoformat(timespec="seconds"),
            "link": self.link,
            "text": f"{self.headline} ({self.project}): {self.link}",
        }


class OperatorNotifier:
    """Sends operator notices in a thread of its own; ``tell`` never blocks and never raises."""

    def __init__(self, settings: EnclaveSettings, db: StateDB, retry_delays: tuple[float, ...] = RETRY_DELAYS_SECONDS):
        self.settings = settings
        self.db = db
        self.retry_delays = retry_delays
        self.channels = [
            name for name, on in (("email", settings.notify_smtp_host), ("webhook", settings.notify_webhook_url)) if on
        ]
        self._due: list[tuple[float, int, int, str, OperatorNotice]] = []  # (when, order, attempt, channel, notice)
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def tell(self, event: str, project: str) -> None:
        if event not in HEADLINES or not self.channels:
            return
        notice = OperatorNotice(
            event, project, dt.datetime.now(dt.UTC), self.settings.notify_public_url.rstrip("/") + "/hub/home"
        )
        with self._wake:
            for channel in self.channels:
                heapq.heappush(self._due, (0.0, next(self._order), 1, channel, notice))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="enclave-notify", daemon=True)
                self._thread.start()
            self._wake.notify()

    def idle(self) -> bool:
        with self._wake:
            return not self._due

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._wake.wait(None if not self._due else self._due[0][0] - time.monotonic())
                _, _, attempt, channel, notice = heapq.heappop(self._due)
            try:
                self._attempt(attempt, channel, notice)
            except Exception:  # the audit log is unreachable: keep going, the notice was tried
                log.exception("could not record a notification to operators")

    def _attempt(self, attempt: int, channel: str, notice: OperatorNotice) -> None:
        details: dict = {"channel": channel, "notice": notice.event, "attempt": attempt}
        try:
            if channel == "email":
                details["recipients"] = self._mail(notice)
            else:
                self._post(notice)
        except Exception as exc:
            details["error"] = f"{type(exc).__name__}: {exc}"[:300]
            if attempt > len(self.retry_delays):
                details["gave_up"] = True
            else:
                delay = self.retry_delays[attempt - 1]
                with self._wake:
                    heapq.heappush(
                        self._due, (time.monotonic() + delay, next(self._order), attempt + 1, channel, notice)
                    )
                details["retry_in_seconds"] = delay
            self._audit("notification.failed", "error", notice, details)
            return
        self._audit("notification.sent", "ok", notice, details)

    def _mail(self, notice: OperatorNotice) -> list[str]:
        with self.db.reading() as session:
            operators = people_with_role(session, Role.OPERATOR)
            addresses = {name: email_of(session, name) for name in operators}
        reached = sorted(name for name, address in addresses.items() if address)
        if not reached:
            raise LookupError(
                f"no operator has an email address ({', '.join(operators) or 'no operators'}): "
                "set one with 'enclave user set-email'"
            )
        s = self.settings
        message = EmailMessage()
        message["From"] = message["To"] = s.notify_smtp_sender
        message["Subject"] = notice.subject
        message["Date"] = formatdate(usegmt=True)
        message.set_content(notice.text)
        if s.notify_smtp_tls == "tls":
            smtp = smtplib.SMTP_SSL(
                s.notify_smtp_host, s.notify_smtp_port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.notify_smtp_host, s.notify_smtp_port, timeout=TIMEOUT_SECONDS)
        with smtp:
            if s.notify_smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.notify_smtp_user:
                smtp.login(s.notify_smtp_user, Path(s.notify_smtp_password_file).read_text().strip())
            smtp.send_message(message, to_addrs=[addresses[name] for name in reached])
        return reached

    def _post(self, notice: OperatorNotice) -> None:
        # Chat webhooks carry their secret in the path: errors (and so the audit) name only the host.
        host = urlparse(self.settings.notify_webhook_url).netloc
        try:
            reply = requests.post(self.settings.notify_webhook_url, json=notice.payload(), timeout=TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise ConnectionError(f"{type(exc).__name__} while posting to the webhook at {host}") from None
        if reply.status_code >= 300:
            raise ConnectionError(f"the webhook at {host} answered HTTP {reply.status_code}")

    def _audit(self, action: str, outcome: str, notice: OperatorNotice, details: dict) -> None:
        with self.db.transaction() as session:
            audit.record(session, actor=ACTOR, action=action, target=notice.project, outcome=outcome, details=details)


def airlock_environment(settings: EnclaveSettings) -> dict[str, str]:
    """The airlock's notification settings (egress_review.notify.settings), for its service's environment."""
    values = {
        "PUBLIC_URL": settings.notify_public_url,
        "SMTP_HOST": settings.notify_smtp_host,
        "SMTP_PORT": str(settings.notify_smtp_port),
        "SMTP_TLS": settings.notify_smtp_tls,
        "SMTP_SENDER": settings.notify_smtp_sender,
        "SMTP_USER": settings.notify_smtp_user,
        "SMTP_PASSWORD_FILE": settings.notify_smtp_password_file,
        "WEBHOOK_URL": settings.notify_webhook_url,
    }
    return {f"EGRESS_REVIEW_NOTIFY_{name}": value for name, value in values.items() if value}
