"""Notifications through the real airlock: built as its process builds itself (build_airlock, with the
notification settings), served over HTTP behind a stand-in hub, a submission mails the reviewers through
a real SMTP server (aiosmtpd) and posts its JSON to a real webhook receiver, and the release that follows
the reviewers' approvals mails the analyst. Every send is in the airlock's audit log. And the airlock
process as the hub starts it, from the enclave's settings: reviewers and their emails come from the
enclave's accounts, and the sends reach the enclave's one audit log."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from traitlets.config import Application, Config

from egress_review.app import build_airlock
from egress_review.config import EgressReview
from egress_review.directory import InMemoryProjectDirectory
from egress_review.domain.permissions import Scope
from enclave.airlock.service import airlock_service
from enclave.operations import people, projects
from enclave.operations.base import OperatorContext
from enclave.settings import EnclaveSettings
from enclave.state.db import open_state_db
from enclave.state.models import AuditEvent
from tests.support.airlock import AGGREGATE, AirlockClient, request_for
from tests.support.airlock_app import BASE_URL, FakeHub, ServedAirlock, free_port
from tests.support.notify import MailCatcher, People, WebhookReceiver
from tests.support.recording import RecordingWorkspaces

PUBLIC_URL = "https://enclave.example.org:8443"
PEOPLE = People(
    roles={"reviewer": ["rita", "ravi"], "operator": ["olive"]},
    emails={"alice": "alice@example.org", "rita": "rita@example.org", "ravi": "ravi@example.org"},
)


@dataclass
class DirectoryWithPeople(InMemoryProjectDirectory):
    """The stand-in project directory, also answering who holds a role and their email, as the enclave's does."""

    def people_with_role(self, role: str) -> list[str]:
        return PEOPLE.people_with_role(role)

    def email_of(self, user: str) -> str | None:
        return PEOPLE.email_of(user)


@pytest.fixture
def receivers():
    mail, webhook = MailCatcher().start(), WebhookReceiver().start()
    yield mail, webhook
    mail.stop()
    webhook.stop()


@pytest.fixture
def airlock(tmp_path: Path, receivers):
    mail, webhook = receivers
    c = Config()
    c.EgressReview.data_dir = str(tmp_path / "airlock")
    c.EgressReview.outbox_root = str(tmp_path / "outboxes")
    c.EgressReview.project_directory_class = DirectoryWithPeople
    c.AirlockNotifications.public_url = PUBLIC_URL
    c.AirlockNotifications.smtp_host = "127.0.0.1"
    c.AirlockNotifications.smtp_port = mail.port
    c.AirlockNotifications.smtp_tls = "none"
    c.AirlockNotifications.smtp_sender = "airlock@example.org"
    c.AirlockNotifications.webhook_url = webhook.url
    parent = Application(config=c)
    built = build_airlock(EgressReview(parent=parent), parent=parent)
    built.ctx.directory.add_project("proj-a", members={"alice"})
    hub = FakeHub()
    served = ServedAirlock(built, hub)
    yield built, hub, served
    served.stop()
    hub.stop()
    built.ctx.db.dispose()


def test_a_submission_tells_the_reviewers_and_a_release_tells_the_analyst(airlock, receivers):
    built, hub, served = airlock
    mail, webhook = receivers
    outbox = built.ctx.directory.outbox_path("proj-a", "alice")
    (outbox / "counts.csv").write_text(AGGREGATE)
    alice = AirlockClient.served(served, hub.add_user("alice", Scope.REQUEST))
    rid = request_for(alice, "proj-a", ["counts.csv"])
    alice.ok("POST", f"api/requests/{rid}/submit")
    link = f"{PUBLIC_URL}{BASE_URL}requests/{rid}"

    (to_reviewers,) = mail.wait_for(1)
    assert sorted(to_reviewers.recipients) == ["ravi@example.org", "rita@example.org"]
    assert to_reviewers.message["Subject"] == (
        f"[airlock] A release request is waiting for review (proj-a, request {rid})"
    )
    assert link in to_reviewers.text and "counts" not in to_reviewers.text  # the link, not the file or title
    (posted,) = webhook.wait_for(1)
    assert posted["event"] == "request.submitted" and posted["request_id"] == rid and posted["link"] == link

    for name in ("rita", "ravi"):
        reviewer = AirlockClient.served(served, hub.add_user(name, Scope.REVIEW))
        reviewer.ok("POST", f"api/requests/{rid}/votes", json={"decision": "approve"})
    assert alice.ok("GET", f"api/requests/{rid}")["state"] == "released"

    to_alice = mail.wait_for(2)[1]
    assert to_alice.recipients == ["alice@example.org"]
    assert to_alice.message["Subject"].startswith("[airlock] Your release request was released")
    assert link in to_alice.text
    assert [b["event"] for b in webhook.wait_for(2)] == ["request.submitted", "request.released"]

    olive = AirlockClient.served(served, hub.add_user("olive", Scope.OPERATE))
    sent = [e for e in olive.ok("GET", f"api/audit?request_id={rid}")["entries"] if e["event"] == "notification.sent"]
    assert sorted((e["details"]["notice"], e["details"]["channel"]) for e in sent) == [
        ("request.released", "email"),
        ("request.released", "webhook"),
        ("request.submitted", "email"),
        ("request.submitted", "webhook"),
    ]


def test_the_airlock_the_hub_starts_mails_the_enclaves_reviewers_and_audits_in_the_one_log(tmp_path, receivers):
    mail, webhook = receivers
    settings = EnclaveSettings(
        state_dir=str(tmp_path / "state"),
        instance="notifytest",
        egress_port=free_port(),
        notify_public_url=PUBLIC_URL,
        notify_smtp_host="127.0.0.1",
        notify_smtp_port=mail.port,
        notify_smtp_tls="none",
        notify_smtp_sender="enclave@example.org",
        notify_webhook_url=webhook.url,
    )
    settings.prepare_state_dir()
    ctx = OperatorContext(
        settings=settings, db=open_state_db(settings.database_url), actor="op", workspaces=RecordingWorkspaces()
    )
    projects.create_project(ctx, "alpha")
    people.add_user(ctx, "alice", ["analyst"], email="alice@example.org")
    people.add_user(ctx, "rita", ["reviewer"], email="rita@example.org")
    people.add_user(ctx, "ravi", ["reviewer"])  # no address: named in the audit instead
    people.add_member(ctx, "alpha", "alice")
    outbox = settings.projects_dir / "alpha" / "outbox" / "alice"
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / "counts.csv").write_text(AGGREGATE)

    hub = FakeHub()
    service = airlock_service(settings)  # what the hub runs: command and environment
    env = {
        **service["environment"],
        "PATH": str(Path(service["command"][0]).parent),
        "JUPYTERHUB_SERVICE_NAME": "egress-review",
        "JUPYTERHUB_SERVICE_URL": service["url"],
        "JUPYTERHUB_SERVICE_PREFIX": BASE_URL,
        "JUPYTERHUB_API_URL": hub.api_url,
        "JUPYTERHUB_API_TOKEN": "service-token",
        "JUPYTERHUB_CLIENT_ID": "service-egress-review",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": '["access:services!service=egress-review"]',
    }
    process = subprocess.Popen(service["command"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = service["url"] + BASE_URL
        for _ in range(300):
            try:
                requests.get(base + "api/openapi.json", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        alice = AirlockClient(base, hub.add_user("alice", Scope.REQUEST))
        rid = request_for(alice, "alpha", ["counts.csv"])
        alice.ok("POST", f"api/requests/{rid}/submit")
        (to_reviewers,) = mail.wait_for(1)
        assert to_reviewers.recipients == ["rita@example.org"]
        assert f"{PUBLIC_URL}{BASE_URL}requests/{rid}" in to_reviewers.text
        assert webhook.wait_for(1)[0]["request_id"] == rid

        def forwarded():
            with ctx.db.reading() as session:
                found = session.execute(select(AuditEvent).where(AuditEvent.action == "egress.notification.sent"))
                return [e.details["details"] for e in found.scalars()]  # the airlock's own, as forwarded

        deadline = time.monotonic() + 30
        while len(forwarded()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        by_channel = {d["channel"]: d for d in forwarded()}
        assert by_channel["email"]["recipients"] == ["rita"] and by_channel["email"]["without_email"] == ["ravi"]
        assert set(by_channel) == {"email", "webhook"}
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode(errors="replace")
        hub.stop()
    assert "Traceback" not in output, output
