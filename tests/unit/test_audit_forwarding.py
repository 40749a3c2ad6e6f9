"""The airlock's entries reach the enclave's log in order, exactly once, and only while its chain holds."""

import logging
import sqlite3

import pytest
from sqlalchemy import select

from egress_review.config import EgressReview
from egress_review.domain.states import RequestState
from egress_review.integration import forward_pending, pending_entries
from egress_review.storage.forwarding import AuditForwarder
from egress_review.storage.models import AuditEntry
from enclave.airlock.forwarding import EnclaveAuditSink, catch_up
from enclave.airlock.verify import verify_one_log
from enclave.state.audit_query import AuditFilter, find_events
from harness.airlock_kit import make_env
from tests.support.airlock_states import create_request_at_status


@pytest.fixture
def airlock(settings, ctx):
    """A real airlock (services, SQLite database) whose data lives where the hub's service keeps it."""
    root = settings.state_path / "airlock"
    root.mkdir(parents=True)
    env = make_env(root, db_url=EgressReview(data_dir=str(root)).db_url)
    yield env
    env.db.dispose()


def _airlock_log(env):
    with env.db.read() as session:
        entries = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(e.id, e.event, e.entry_hash) for e in entries]


def _forwarded(ctx):
    with ctx.db.reading() as session:
        return [
            (e.details["airlock_id"], e.action, e.details["airlock_entry_hash"], e.target)
            for e in find_events(session, AuditFilter(action="egress."))
        ]


def test_every_airlock_entry_is_forwarded_after_its_commit_in_order(airlock, ctx, settings):
    forwarder = AuditForwarder(airlock.db, EnclaveAuditSink(settings))
    assert forwarder.start() == 0
    try:
        rid = create_request_at_status(airlock, RequestState.RELEASED)
    finally:
        forwarder.stop()
    entries = _airlock_log(airlock)
    assert [e[1] for e in entries][:4] == ["request.created", "group.saved", "file.added", "request.submitted"]
    assert [(i, f"egress.{event}", h) for i, event, h in entries] == [f[:3] for f in _forwarded(ctx)]
    assert {f[3] for f in _forwarded(ctx)} == {f"proj-a:request/{rid}"}
    assert verify_one_log(settings).problems == []


def test_forwarding_again_or_from_a_second_process_adds_nothing(airlock, ctx, settings):
    create_request_at_status(airlock, RequestState.SUBMITTED)
    first, second = EnclaveAuditSink(settings), EnclaveAuditSink(settings)
    assert forward_pending(airlock.db, first) == len(_airlock_log(airlock))
    assert forward_pending(airlock.db, second) == 0
    # Even handed the same entries again, the sink keeps each once.
    assert second.accept(pending_entries(airlock.db, 0)) == 0
    assert len(_forwarded(ctx)) == len(_airlock_log(airlock))


def test_entries_made_while_nobody_forwarded_are_caught_up(airlock, ctx, settings):
    create_request_at_status(airlock, RequestState.SUBMITTED)
    assert _forwarded(ctx) == []
    added, refused = catch_up(settings)
    assert (added, refused) == (len(_airlock_log(airlock)), None)
    assert verify_one_log(settings).problems == []


def test_an_edited_airlock_entry_is_not_forwarded_and_verify_names_it(airlock, ctx, settings):
    create_request_at_status(airlock, RequestState.SUBMITTED)
    with sqlite3.connect(airlock.db.url.removeprefix("sqlite:///")) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 3")
    added, refused = catch_up(settings)
    assert added == 2 and "airlock entry 3" in refused and "edited" in refused
    problems = {(p.log, p.key, p.kind) for p in verify_one_log(settings).problems}
    assert {
        ("airlock", 3, "edited"),
        ("airlock", 3, "missing from the one log"),
        ("airlock", 4, "missing from the one log"),
    } <= problems


def test_the_airlock_alone_has_no_target_and_says_so(tmp_path, caplog):
    from egress_review.app import start_audit_forwarding

    cfg = EgressReview(data_dir=str(tmp_path))
    with caplog.at_level(logging.INFO, logger="egress_review"):
        assert start_audit_forwarding(cfg, None, None) is None
    assert "no audit forwarding target" in caplog.text


def test_the_hub_gives_its_airlock_the_enclave_sink(settings):
    from enclave.airlock.service import airlock_service

    command = airlock_service(settings)["command"]
    assert "--EgressReview.audit_sink_class=enclave.airlock.forwarding.EnclaveAuditSink" in command


def test_the_airlock_catches_up_at_start_up(airlock, ctx, settings):
    create_request_at_status(airlock, RequestState.SUBMITTED)
    forwarder = AuditForwarder(airlock.db, EnclaveAuditSink(settings))
    try:
        assert forwarder.start() == len(_airlock_log(airlock))
    finally:
        forwarder.stop()


def test_two_forwarders_at_once_add_each_entry_once(airlock, ctx, settings):
    import threading

    create_request_at_status(airlock, RequestState.RELEASED)
    added = []
    workers = [
        threading.Thread(target=lambda: added.append(forward_pending(airlock.db, EnclaveAuditSink(settings))))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(added) == len(_airlock_log(airlock))
    assert [f[0] for f in _forwarded(ctx)] == [e[0] for e in _airlock_log(airlock)]


class BrokenSink:
    def forwarded_up_to(self):
        raise ConnectionError("the state database is not reachable")

    def accept(self, entries):
        raise AssertionError("not reached")


def test_a_failing_forward_does_not_undo_the_airlocks_commit(airlock, caplog):
    forwarder = AuditForwarder(airlock.db, BrokenSink())
    with pytest.raises(ConnectionError):  # the start-up catch-up fails (the airlock logs it and starts)
        forwarder.start()
    try:
        with caplog.at_level(logging.ERROR, logger="egress_review"):
            rid = create_request_at_status(airlock, RequestState.DRAFT)
    finally:
        forwarder.stop()
    assert rid and [e[1] for e in _airlock_log(airlock)] == ["request.created", "group.saved", "file.added"]
    assert "could not forward audit entries" in caplog.text
