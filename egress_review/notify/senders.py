"""The two channels: email over SMTP (stdlib smtplib) and a JSON POST to a webhook (requests).

A sender sends one notice or raises; retrying is the dispatcher's job. Both only ever send a
``Notice`` (wording.py), so what leaves is fixed wording, ids, a time and a link.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlparse

import requests

from .wording import Notice

TLS_MODES = ("none", "starttls", "tls")
TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    tls: str = "starttls"  # "none" (plain, for a relay on loopback), "starttls" or "tls" (implicit)
    user: str = ""
    password: str = ""

    needs_addresses = True

    def __post_init__(self):
        if self.tls not in TLS_MODES:
            raise ValueError(f"SMTP TLS mode must be one of {', '.join(TLS_MODES)}, not {self.tls!r}")

    def send(self, notice: Notice, addresses: tuple[str, ...]) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.sender  # every reviewer gets the same mail; they are in Bcc, unseen by each other
        message["Subject"] = notice.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(notice.text)
        with self._connect() as smtp:
            if self.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(message, from_addr=self.sender, to_addrs=list(addresses))

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)


@dataclass(frozen=True)
class WebhookSender:
    url: str

    needs_addresses = False

    def send(self, notice: Notice, addresses: tuple[str, ...] = ()) -> None:
        # Chat webhooks carry their secret in the path: errors (and so the audit) name only the host.
        host = urlparse(self.url).netloc
        try:
            response = requests.post(self.url, json=notice.payload(), timeout=TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise WebhookFailed(f"{type(exc).__name__} while posting to the webhook at {host}") from None
        if response.status_code >= 300:
            raise WebhookFailed(f"the webhook at {host} answered HTTP {response.status_code}")


class WebhookFailed(Exception):
    pass
