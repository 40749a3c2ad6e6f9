"""Airlock notifications: what a notice may say (fixed wording, ids, time, link, nothing an analyst
wrote), that it is queued with the decision, and that sending retries with backoff, audits every
attempt and never loses or blocks a decision. Real SMTP (aiosmtpd) and HTTP (aiohttp) on loopback."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from sqlalchemy import select

from egress_review.domain.states import RequestState
from egress_review.notify import AirlockNotifications, Notice, NotificationDispatcher, RetryPolicy
from egress_review.notify.senders import SmtpSender, WebhookSender
from egress_review.notify.wording import WORDING
from egress_review.services.views import request_detail
from egress_review.storage.models import AuditEntry, QueuedNotification
from harness.airlock_kit import analyst, make_env, operator, reviewer
from tests.support.airlock_states import blocking_checks, create_request_at_status
from tests.support.notify import People, WebhookReceiver
from tests.support.ports import free_port

# What analysts write, and what their files hold: none of it may appear in a notice.
TITLE, CONTEXT, CONTROLS, COMMENT = "Title-7f3a", "Context-91bd", "Controls-c4e2", "Comment-5d18"
CONTENT = "participant_id,n\nP0004711,12\n"
PEOPLE = People(
    roles={"reviewer": ["rita", "ravi", "alice"], "operator": ["olive"]},
    emails={
        "alice": "alice@example.org",
        "rita": "rita@example.org",
        "ravi": "ravi@example.org",
        "olive": "olive@example.org",
    },
)
LINK = "https://enclave.example.org/services/egress-review/requests/"


@pytest.fixture
def env(tmp_path):
    e = make_env(tmp_path)
    yield e
    e.db.dispose()


def dispatcher(env, senders, people=PEOPLE, retry=None):
    return NotificationDispatcher(env.db, people, senders, link_for=lambda rid: LINK + rid, retry=retry)


def smtp(port) -> SmtpSender:
    return SmtpSender("127.0.0.1", port, "airlock@example.org", tls="none")


def submitted(env) -> str:
    """A submitted request whose title, group, comment and file hold text and an identifier to look for."""
    author = analyst()
    rid = env.airlock.requests.create(author, "proj-a", title=TITLE)
    env.airlock.requests.save_group(author, rid, "main", context=CONTEXT, controls=CONTROLS)
    env.write_outbox("tables/counts.csv", CONTENT)
    env.airlock.requests.add_file(author, rid, "tables/counts.csv", "main", comment=COMMENT)
    env.airlock.requests.submit(author, rid)
    return rid


def audit_events(env, prefix="notification."):
    with env.db.read() as session:
        entries = session.execute(select(AuditEntry).where(AuditEntry.event.like(prefix + "%")).order_by(AuditEntry.id))
        return [(e.event, e.outcome, json.loads(e.details)) for e in entries.scalars()]


def queued(env):
    with env.db.read() as session:
        rows = session.execute(select(QueuedNotification).order_by(QueuedNotification.id)).scalars()
        return [(r.event, r.channel, r.status, r.attempts) for r in rows]


# --- what a notice says ----------------------------------------------------------------------------


def test_a_notice_is_fixed_wording_ids_time_and_a_link():
    at = dt.datetime(2026, 12, 5, 21, 0, tzinfo=dt.UTC)
    notice = Notice("request.submitted", "ab" * 16, "proj-a", at, LINK + "ab" * 16)
    assert notice.subject == f"[airlock] A release request is waiting for review (proj-a, request {'ab' * 16})"
    assert notice.text.splitlines() == [
        "A release request is waiting for review.",
        "",
        f"Request: {'ab' * 16}",
        "Project: proj-a",
        "Time: 2026-12-05T21:00:00+00:00",
        "",
        f"Open it (log in to the enclave first): {LINK}{'ab' * 16}",
    ]
    assert set(notice.payload()) == {"event", "request_id", "project", "at", "link", "text"}
    assert notice.payload()["link"] == LINK + "ab" * 16


def test_who_hears_of_what():
    told = {event.value: wording.audience for event, wording in WORDING.items()}
    assert told == {
        "request.submitted": "reviewers",
        "request.resubmitted": "reviewers",
        "request.changes_requested": "author",
        "request.rejected": "author",
        "request.released": "author",
        "block.overridden": "operators",
    }


def test_nothing_an_analyst_wrote_and_nothing_of_the_file_leaves_in_a_notice(env, mail, webhook):
    env.airlock.ctx.run_checks = blocking_checks({"counts.csv"})
    rid = submitted(env)
    fid = request_detail(env.ctx, analyst(), rid)["staged_files"][0]["id"]
    env.airlock.reviews.comment(reviewer("rita"), rid, "Reviewer-remark-0e77", fid)
    env.airlock.reviews.override_block(operator(), rid, fid, "Override-reason-3b90")
    env.airlock.reviews.vote(reviewer("rita"), rid, "request_changes", reason="Vote-reason-a1c6")
    env.airlock.reviews.vote(reviewer("ravi"), rid, "request_changes", reason="Vote-reason-a1c6")
    dispatcher(env, {"email": smtp(mail.port), "webhook": WebhookSender(webhook.url)}).drain_once()

    mails = [f"{m.message['Subject']}\n{m.text}" for m in mail.wait_for(3)]  # as the reader sees it, decoded
    sent = mails + [json.dumps(b) for b in webhook.wait_for(3)]
    assert len(sent) == 6  # submitted, block overridden, changes requested; by mail and by webhook
    for text in sent:
        for secret in (
            TITLE,
            CONTEXT,
            CONTROLS,
            COMMENT,
            "P0004711",
            "counts.csv",
            "Reviewer-remark",
            "Override-reason",
            "Vote-reason",
        ):
            assert secret not in text
        assert rid in text and LINK + rid in text and "proj-a" in text
    assert [b["event"] for b in webhook.bodies] == [
        "request.submitted",
        "block.overridden",
        "request.changes_requested",
    ]


# --- who receives it -------------------------------------------------------------------------------


def test_reviewers_hear_of_a_submission_but_never_of_their_own(env, mail):
    rid = submitted(env)  # alice is also a reviewer: she is not told of her own request
    dispatcher(env, {"email": smtp(mail.port)}).drain_once()
    (only,) = mail.wait_for(1)
    assert sorted(only.recipients) == ["ravi@example.org", "rita@example.org"]
    assert "waiting for review" in only.message["Subject"] and rid in only.text
    (sent,) = audit_events(env)
    assert sent[0] == "notification.sent" and sent[2]["recipients"] == ["ravi", "rita"]


def test_a_release_and_a_rejection_are_mailed_to_the_analyst(env, mail):
    released = create_request_at_status(env, RequestState.RELEASED)
    rejected = create_request_at_status(env, RequestState.REJECTED)
    dispatcher(env, {"email": smtp(mail.port)}).drain_once()
    to_alice = [m for m in mail.wait_for(4) if m.recipients == ["alice@example.org"]]
    assert [(m.message["Subject"].split(" (")[0], m.text.split("Request: ")[1][:32]) for m in to_alice] == [
        ("[airlock] Your release request was released: its files can be downloaded", released),
        ("[airlock] Your release request was rejected", rejected),
    ]


def test_people_without_an_email_are_named_in_the_audit_and_a_notice_nobody_can_get_is_skipped(env, mail):
    people = People(roles=PEOPLE.roles, emails={"rita": "rita@example.org"})
    submitted(env)
    create_request_at_status(env, RequestState.RELEASED)  # alice has no address here
    dispatcher(env, {"email": smtp(mail.port)}, people=people).drain_once()
    events = audit_events(env)
    submitted_sent = next(d for e, _, d in events if e == "notification.sent" and d["notice"] == "request.submitted")
    assert submitted_sent["recipients"] == ["rita"] and submitted_sent["without_email"] == ["ravi"]
    skipped = [d for e, _, d in events if e == "notification.skipped"]
    assert [(d["notice"], d["without_email"]) for d in skipped] == [("request.released", ["alice"])]
    assert all(m.recipients == ["rita@example.org"] for m in mail.mails)


# --- the outbox, retries and failures --------------------------------------------------------------


def test_notices_are_queued_with_the_decision_and_a_channel_not_set_up_is_off(env, webhook):
    create_request_at_status(env, RequestState.WITHDRAWN)  # a withdrawn draft tells no one
    assert queued(env) == []
    submitted(env)
    assert queued(env) == [("request.submitted", "email", "pending", 0), ("request.submitted", "webhook", "pending", 0)]
    dispatcher(env, {"webhook": WebhookSender(webhook.url)}).drain_once()
    assert queued(env) == [("request.submitted", "email", "off", 0), ("request.submitted", "webhook", "sent", 1)]
    assert [e for e, _, _ in audit_events(env)] == ["notification.sent"]


def test_a_failing_webhook_is_retried_with_backoff_until_it_answers(env):
    receiver = WebhookReceiver(fail_first=2).start()
    try:
        rid = submitted(env)
        d = dispatcher(env, {"webhook": WebhookSender(receiver.url)}, retry=RetryPolicy(first_delay_seconds=0.2))
        d.drain_once()
        assert d.drain_once() == 0  # not due again before its backoff
        deadline = time.monotonic() + 30
        while not receiver.bodies and time.monotonic() < deadline:
            d.drain_once()
            time.sleep(0.05)
        assert receiver.attempts == 3 and receiver.bodies[0]["request_id"] == rid
    finally:
        receiver.stop()
    events = audit_events(env)
    assert [(e, o) for e, o, _ in events] == [("notification.failed", "error")] * 2 + [("notification.sent", "ok")]
    assert [d["attempt"] for _, _, d in events] == [1, 2, 3]
    assert "503" in events[0][2]["error"] and "secret-token" not in json.dumps(events)  # the URL's secret stays out
    assert all("retry_at" in d for _, _, d in events[:2])
    assert ("request.submitted", "webhook", "sent", 3) in queued(env)


def test_backoff_doubles_and_is_capped():
    policy = RetryPolicy(first_delay_seconds=30, max_delay_seconds=3600)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_a_decision_stands_when_the_mail_server_is_down_and_the_failure_is_audited(env):
    down = smtp(free_port())  # nothing listens there
    rid = create_request_at_status(env, RequestState.REJECTED)
    d = dispatcher(env, {"email": down}, retry=RetryPolicy(first_delay_seconds=0, max_attempts=2))
    d.drain_once()
    d.drain_once()
    assert request_detail(env.ctx, analyst(), rid)["state"] == "rejected"
    failed = [(d["notice"], d["attempt"], d.get("gave_up", False)) for e, _, d in audit_events(env)]
    assert failed == [
        ("request.submitted", 1, False),
        ("request.rejected", 1, False),
        ("request.submitted", 2, True),
        ("request.rejected", 2, True),
    ]
    assert {status for _, _, status, _ in queued(env)} == {"failed", "off"}
    assert d.drain_once() == 0  # given up: not tried again


def test_settings_come_from_the_environment_the_hub_gives(monkeypatch, tmp_path):
    (tmp_path / "smtp-password").write_text("s3cret\n")
    for name, value in {
        "PUBLIC_URL": "https://enclave.example.org:8443",
        "SMTP_HOST": "mail.example.org",
        "SMTP_PORT": "465",
        "SMTP_TLS": "tls",
        "SMTP_SENDER": "airlock@example.org",
        "SMTP_USER": "airlock",
        "SMTP_PASSWORD_FILE": str(tmp_path / "smtp-password"),
        "WEBHOOK_URL": "https://chat.example.org/hooks/x",
    }.items():
        monkeypatch.setenv(f"EGRESS_REVIEW_NOTIFY_{name}", value)
    settings = AirlockNotifications()
    senders = settings.senders()
    assert senders["email"] == SmtpSender("mail.example.org", 465, "airlock@example.org", "tls", "airlock", "s3cret")
    assert senders["webhook"] == WebhookSender("https://chat.example.org/hooks/x")
    d = settings.dispatcher(db=None, directory=None, base_url="/services/egress-review/")
    assert d.link_for("abc") == "https://enclave.example.org:8443/services/egress-review/requests/abc"


def test_nothing_set_means_no_sender():
    assert AirlockNotifications().senders() == {}


def test_email_set_up_wrongly_is_left_off_and_the_airlock_still_starts(monkeypatch):
    monkeypatch.setenv("EGRESS_REVIEW_NOTIFY_SMTP_HOST", "mail.example.org")  # but no sender address
    monkeypatch.setenv("EGRESS_REVIEW_NOTIFY_WEBHOOK_URL", "https://chat.example.org/hooks/x")
    assert list(AirlockNotifications().senders()) == ["webhook"]
