"""Operators' notifications (enclave/notify.py): metering alerts and suspensions reach the operators by
email (a real aiosmtpd server) and webhook (a real aiohttp receiver) with fixed wording and the same JSON
keys as the airlock's notices; failures are retried and audited; people's emails are kept on their login
account and read by the airlock's directory."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from sqlalchemy import select

from egress_review.notify import Notice
from enclave.airlock.directory import EnclaveProjectDirectory
from enclave.errors import InvalidInput
from enclave.metering import EgressMeter
from enclave.notify import OperatorNotice, OperatorNotifier, airlock_environment
from enclave.operations import people, projects
from enclave.state.models import AuditEvent
from tests.support.notify import WebhookReceiver


@pytest.fixture
def operators(ctx, mail):
    """Two operators (one without an email), mail to the test's SMTP server, a 1000-byte budget per person."""
    s = ctx.settings
    s.notify_smtp_host, s.notify_smtp_port, s.notify_smtp_tls = "127.0.0.1", mail.port, "none"
    s.notify_smtp_sender, s.notify_public_url = "enclave@example.org", "https://enclave.example.org"
    s.metering_budget_floor = s.metering_budget_ceiling = 1000
    people.add_user(ctx, "olive", ["operator"], email="olive@example.org")
    people.add_user(ctx, "oscar", ["operator"])
    people.add_user(ctx, "alice", ["analyst"], email="alice@example.org")
    projects.create_project(ctx, "alpha")
    projects.set_egress_budget(ctx, "alpha", project_daily_bytes=10**12)
    people.add_member(ctx, "alpha", "alice")
    return ctx


def audited(ctx, action: str) -> list[tuple[str, str, dict]]:
    with ctx.db.reading() as session:
        found = session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
        return [(e.target, e.outcome, e.details) for e in found.scalars()]


def wait_until(done, timeout=30):
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_operator_notice_is_fixed_wording_project_time_and_a_link_with_the_airlocks_keys():
    at = dt.datetime(2026, 12, 5, 21, 0, tzinfo=dt.UTC)
    notice = OperatorNotice("metering.exceeded", "alpha", at, "https://enclave.example.org/hub/home")
    assert notice.subject == (
        "[enclave] Someone in the project used all of their egress budget: they are "
        "suspended and their workspace stopped (alpha)"
    )
    assert "Project: alpha\nTime: 2026-12-05T21:00:00+00:00" in notice.text
    airlock = Notice("request.submitted", "ab" * 16, "alpha", at, "https://x/requests/ab").payload()
    assert set(notice.payload()) == set(airlock)  # one wire format for chat tools
    assert notice.payload()["request_id"] is None and notice.payload()["link"].endswith("/hub/home")


def test_metering_alert_and_suspension_reach_the_operators_by_mail(operators, mail):
    async def run():
        meter = EgressMeter(operators.settings, db=operators.db, workspaces=operators.workspaces)
        meter.count("alice", "alpha", 500, "kernel")
        await meter.flush()
        meter.count("alice", "alpha", 500, "kernel")
        await meter.flush()
        await asyncio.gather(*meter._enforcing)
        return meter

    meter = asyncio.run(run())
    mails = mail.wait_for(2)
    wait_until(meter.notifier.idle)
    assert [m.recipients for m in mails] == [["olive@example.org"]] * 2  # oscar has no address
    subjects = [m.message["Subject"] for m in mails]
    assert subjects[0].startswith("[enclave] Someone in the project has used half") and "(alpha)" in subjects[0]
    assert "suspended" in subjects[1]
    for m in mails:
        assert "alice" not in m.message.as_string() and "https://enclave.example.org/hub/home" in m.text
    wait_until(lambda: len(audited(operators, "notification.sent")) == 2)
    sent = audited(operators, "notification.sent")
    assert [(t, o, d["notice"], d["recipients"]) for t, o, d in sent] == [
        ("alpha", "ok", "metering.alert", ["olive"]),
        ("alpha", "ok", "metering.exceeded", ["olive"]),
    ]


def test_a_failing_webhook_is_retried_and_every_attempt_audited(operators):
    receiver = WebhookReceiver(fail_first=2).start()
    try:
        operators.settings.notify_smtp_host = ""
        operators.settings.notify_webhook_url = receiver.url
        notifier = OperatorNotifier(operators.settings, operators.db, retry_delays=(0.1, 0.2))
        notifier.tell("metering.project-alert", "alpha")
        (body,) = receiver.wait_for(1)
    finally:
        receiver.stop()
    assert body["event"] == "metering.project-alert" and body["project"] == "alpha" and receiver.attempts == 3
    wait_until(lambda: audited(operators, "notification.sent"))
    failed = audited(operators, "notification.failed")
    assert [(d["attempt"], d["retry_in_seconds"], o) for _, o, d in failed] == [(1, 0.1, "error"), (2, 0.2, "error")]
    assert all("secret-token" not in d["error"] for _, _, d in failed)  # the webhook's secret stays out


def test_a_mail_server_that_stays_down_is_given_up_and_audited(operators, mail):
    mail.stop()  # nothing listens any more
    notifier = OperatorNotifier(operators.settings, operators.db, retry_delays=(0.05,))
    notifier.tell("metering.alert", "alpha")
    wait_until(lambda: len(audited(operators, "notification.failed")) == 2)
    wait_until(notifier.idle)
    first, last = (d for _, _, d in audited(operators, "notification.failed"))
    assert "gave_up" not in first and last["gave_up"] is True


def test_nothing_is_sent_without_a_channel(ctx):
    notifier = OperatorNotifier(ctx.settings, ctx.db)
    notifier.tell("metering.alert", "alpha")
    assert notifier.channels == [] and notifier._thread is None


def test_emails_are_kept_on_the_login_account_and_the_airlock_reads_them(ctx, settings, monkeypatch):
    people.add_user(ctx, "rita", ["reviewer"], email="rita@example.org")
    people.add_user(ctx, "ravi", ["reviewer", "analyst"])
    people.add_user(ctx, "olive", ["operator"])
    people.set_email(ctx, "ravi", "ravi@example.org")
    people.remove_user(ctx, "olive")
    with pytest.raises(InvalidInput, match="not an email address"):
        people.set_email(ctx, "rita", "rita at example")
    monkeypatch.setenv("ENCLAVE_DB_URL", settings.database_url)
    directory = EnclaveProjectDirectory()
    directory._settings = settings
    assert directory.people_with_role("reviewer") == ["ravi", "rita"]
    assert directory.people_with_role("operator") == []  # removed accounts hear nothing
    assert [directory.email_of(n) for n in ("rita", "ravi", "olive")] == ["rita@example.org", "ravi@example.org", None]
    assert audited(ctx, "user.set-email")[0][2] == {"email": "ravi@example.org"}


def test_the_airlock_service_gets_the_same_settings(settings):
    settings.notify_smtp_host, settings.notify_smtp_sender = "mail.example.org", "enclave@example.org"
    settings.notify_webhook_url, settings.notify_public_url = "https://chat.example.org/h/x", "https://e.example.org"
    assert airlock_environment(settings) == {
        "EGRESS_REVIEW_NOTIFY_PUBLIC_URL": "https://e.example.org",
        "EGRESS_REVIEW_NOTIFY_SMTP_HOST": "mail.example.org",
        "EGRESS_REVIEW_NOTIFY_SMTP_PORT": "587",
        "EGRESS_REVIEW_NOTIFY_SMTP_TLS": "starttls",
        "EGRESS_REVIEW_NOTIFY_SMTP_SENDER": "enclave@example.org",
        "EGRESS_REVIEW_NOTIFY_WEBHOOK_URL": "https://chat.example.org/h/x",
    }
