"""The airlock's notification settings (traitlets), and the dispatcher built from them.

Each setting defaults to an ``EGRESS_REVIEW_NOTIFY_*`` environment variable, so the hub (which
passes a service only the environment it names) can set them with no config file; operators may
also pass ``--AirlockNotifications.<name>=``. Nothing set: notices are queued and marked "off".
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from traitlets import Enum, Float, Integer, Unicode, default
from traitlets.config import Configurable

from ..storage.db import Database
from .dispatcher import NotificationDispatcher, RetryPolicy, Sender
from .senders import TLS_MODES, SmtpSender, WebhookSender

ENV_PREFIX = "EGRESS_REVIEW_NOTIFY_"
log = logging.getLogger("egress_review")


def _env(name: str, fallback: str = "") -> str:
    return os.environ.get(ENV_PREFIX + name.upper(), fallback)


class AirlockNotifications(Configurable):
    public_url = Unicode(
        help="The enclave's public address (https://host:port) that links in notifications start with "
        "(default $EGRESS_REVIEW_NOTIFY_PUBLIC_URL)."
    ).tag(config=True)
    smtp_host = Unicode(help="SMTP server; empty sends no email (default $EGRESS_REVIEW_NOTIFY_SMTP_HOST).").tag(
        config=True
    )
    smtp_port = Integer(help="SMTP port (default $EGRESS_REVIEW_NOTIFY_SMTP_PORT, else 587).").tag(config=True)
    smtp_tls = Enum(
        TLS_MODES,
        help="'starttls' (port 587), 'tls' (implicit, port 465) or 'none' (a relay on loopback only) "
        "(default $EGRESS_REVIEW_NOTIFY_SMTP_TLS, else starttls).",
    ).tag(config=True)
    smtp_sender = Unicode(help="From address of the mails (default $EGRESS_REVIEW_NOTIFY_SMTP_SENDER).").tag(
        config=True
    )
    smtp_user = Unicode(help="SMTP login, if the server wants one (default $EGRESS_REVIEW_NOTIFY_SMTP_USER).").tag(
        config=True
    )
    smtp_password_file = Unicode(
        help="File holding the SMTP password (default $EGRESS_REVIEW_NOTIFY_SMTP_PASSWORD_FILE)."
    ).tag(config=True)
    webhook_url = Unicode(
        help="URL that receives each notice as a JSON POST, for chat tools; empty posts nothing "
        "(default $EGRESS_REVIEW_NOTIFY_WEBHOOK_URL)."
    ).tag(config=True)
    retry_first_seconds = Float(30.0, help="Wait before the first retry; doubles each time (default 30).").tag(
        config=True
    )
    retry_max_attempts = Integer(12, help="Attempts before a notice is given up (audited) (default 12).").tag(
        config=True
    )

    @default("public_url")
    def _default_public_url(self):
        return _env("public_url")

    @default("smtp_host")
    def _default_smtp_host(self):
        return _env("smtp_host")

    @default("smtp_port")
    def _default_smtp_port(self):
        return int(_env("smtp_port", "587"))

    @default("smtp_tls")
    def _default_smtp_tls(self):
        return _env("smtp_tls", "starttls")

    @default("smtp_sender")
    def _default_smtp_sender(self):
        return _env("smtp_sender")

    @default("smtp_user")
    def _default_smtp_user(self):
        return _env("smtp_user")

    @default("smtp_password_file")
    def _default_smtp_password_file(self):
        return _env("smtp_password_file")

    @default("webhook_url")
    def _default_webhook_url(self):
        return _env("webhook_url")

    def senders(self) -> dict[str, Sender]:
        """The channels set up. One set up wrongly is left off and logged: the airlock still starts, and
        decisions are never held up by how notices are sent (their notices are marked "off")."""
        senders: dict[str, Sender] = {}
        if self.smtp_host:
            try:
                senders["email"] = self._smtp()
            except (ValueError, OSError) as exc:
                log.error("notifications by email are off: %s", exc)
        if self.webhook_url:
            senders["webhook"] = WebhookSender(self.webhook_url)
        return senders

    def _smtp(self) -> SmtpSender:
        if not self.smtp_sender:
            raise ValueError("they need a sender address: set smtp_sender ($EGRESS_REVIEW_NOTIFY_SMTP_SENDER)")
        password = Path(self.smtp_password_file).read_text().strip() if self.smtp_password_file else ""
        return SmtpSender(self.smtp_host, self.smtp_port, self.smtp_sender, self.smtp_tls, self.smtp_user, password)

    def dispatcher(self, db: Database, directory: object, base_url: str) -> NotificationDispatcher:
        """The dispatcher for this airlock; links go to ``<public_url><base_url>requests/<id>``."""
        prefix = self.public_url.rstrip("/") + "/" + base_url.strip("/") + "/requests/"
        return NotificationDispatcher(
            db,
            directory,
            self.senders(),
            link_for=lambda request_id: prefix + request_id,
            retry=RetryPolicy(first_delay_seconds=self.retry_first_seconds, max_attempts=self.retry_max_attempts),
        )
