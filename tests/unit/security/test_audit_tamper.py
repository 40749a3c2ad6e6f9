"""Red team: change the one audit log behind the enclave's back and have `enclave audit verify` catch it.

The attacker has file access to both databases: they drop the append-only
triggers with sqlite3 and edit, insert, reorder or delete entries, in the
enclave's log and in the airlock's, and forge hashes where that helps them
(the algorithm is public). Each attempt asserts that verify exits non-zero and
names the entry and what happened to it. Real parts: the enclave's state
database, the airlock's services and database, the forwarding between them and
the CLI; no hub or Docker is needed to tamper with files.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from egress_review.config import EgressReview
from egress_review.domain.states import RequestState
from egress_review.storage.audit import canonical_json
from egress_review.storage.audit import entry_hash as airlock_hash
from egress_review.storage.forwarding import AuditForwarder
from enclave.airlock.forwarding import EnclaveAuditSink
from enclave.cli.main import main
from enclave.operations.base import OperatorContext
from enclave.settings import EnclaveSettings
from enclave.state import audit
from enclave.state.db import StateDB
from harness.airlock_kit import make_env
from tests.support.airlock_states import create_request_at_status

PROBLEM = re.compile(r"^(enclave|airlock) entry (\d+): ([a-z ]+): ")


@pytest.fixture
def logs(tmp_path, monkeypatch):
    """Both logs with history: operator actions and logins in the enclave's, a released request in the
    airlock's, forwarded after each commit as the hub's airlock does."""
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    settings = EnclaveSettings()
    settings.prepare_state_dir()
    db = StateDB(settings.database_url)
    ctx = OperatorContext(settings=settings, db=db, actor="op", workspaces=None)
    for action, target in [("project.create", "alpha"), ("member.add", "alpha/alice"), ("login", "alice")]:
        with db.transaction() as session:
            audit.record(session, actor="op", action=action, target=target)
    root = settings.state_path / "airlock"
    root.mkdir()
    env = make_env(root, db_url=EgressReview(data_dir=str(root)).db_url)
    forwarder = AuditForwarder(env.db, EnclaveAuditSink(settings))
    forwarder.start()
    create_request_at_status(env, RequestState.RELEASED)
    forwarder.stop()
    env.db.dispose()
    for action, target in [("workspace.stop", "alpha/alice"), ("project.suspend", "alpha")]:
        with db.transaction() as session:
            audit.record(session, actor="op", action=action, target=target)
    yield Logs(ctx, settings.database_url.removeprefix("sqlite:///"), env.db.url.removeprefix("sqlite:///"))


class Logs:
    def __init__(self, ctx, enclave_path, airlock_path):
        self.ctx, self.enclave_path, self.airlock_path = ctx, enclave_path, airlock_path

    def enclave(self, *statements):
        _tamper(self.enclave_path, ["audit_events_no_update", "audit_events_no_delete"], statements)

    def airlock(self, *statements):
        _tamper(self.airlock_path, ["audit_log_no_update", "audit_log_no_delete"], statements)

    def rows(self, path, query):
        with sqlite3.connect(path) as conn:
            return conn.execute(query).fetchall()

    def airlock_ids(self):
        return [i for (i,) in self.rows(self.airlock_path, "SELECT id FROM audit_log ORDER BY id")]

    def enclave_seqs(self):
        return [s for (s,) in self.rows(self.enclave_path, "SELECT seq FROM audit_events ORDER BY seq")]


def _tamper(path, triggers, statements):
    with sqlite3.connect(path) as conn:
        for trigger in triggers:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for statement, *params in statements:
            conn.execute(statement, *params)


def _verify(capsys) -> dict[tuple[str, int], str]:
    code = main(["audit", "verify"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "NOT intact" in out
    return {(m[1], int(m[2])): m[3] for m in map(PROBLEM.match, out.splitlines()) if m}


def _forged_enclave(seq, prev_hash):
    at = "2026-11-21T10:00:00.000000+00:00"
    canonical = audit._canonical(seq, at, "mallory", "dataset.approve", "alpha", "ok", {})
    return (
        "INSERT INTO audit_events (seq, at, actor, action, target, outcome, details, prev_hash, entry_hash) "
        "VALUES (?, ?, 'mallory', 'dataset.approve', 'alpha', 'ok', '{}', ?, ?)",
        (seq, at, prev_hash, audit.entry_hash(prev_hash, canonical)),
    )


def _forged_airlock(entry_id, prev_hash):
    at, details = "2026-11-21T10:00:00.000000+00:00", canonical_json({"round": 1, "decision": "approve"})
    digest = airlock_hash(
        prev_hash=prev_hash, at=at, actor="mallory", event="vote.cast", outcome="ok", request_id=None, details=details
    )
    return (
        "INSERT INTO audit_log (id, at, actor, event, outcome, request_id, details, prev_hash, entry_hash) "
        "VALUES (?, ?, 'mallory', 'vote.cast', 'ok', NULL, ?, ?, ?)",
        (entry_id, at, details, prev_hash, digest),
    )


def test_the_untouched_log_verifies(logs, capsys):
    """RT-AUDIT-00: the baseline: both logs, forwarded, verify as intact (so the attempts below mean something)."""
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "The audit log is intact" in out and f"{len(logs.airlock_ids())} airlock entries" in out


# --- the enclave's own entries ------------------------------------------------------------------------------------


def test_editing_an_enclave_entry_is_caught(logs, capsys):
    """RT-AUDIT-01: change who did something in the enclave's log."""
    logs.enclave(("UPDATE audit_events SET actor = 'nobody' WHERE seq = 2",))
    assert _verify(capsys) == {("enclave", 2): "edited"}


def test_inserting_an_enclave_entry_is_caught(logs, capsys):
    """RT-AUDIT-02: slip a forged approval into the middle of the enclave's log, hashes and all."""
    seqs = logs.enclave_seqs()
    prev = logs.rows(logs.enclave_path, "SELECT entry_hash FROM audit_events WHERE seq = 2")[0][0]
    logs.enclave(
        *[(f"UPDATE audit_events SET seq = {s + 1} WHERE seq = {s}",) for s in reversed(seqs[2:])],
        _forged_enclave(3, prev),
    )
    assert _verify(capsys)[("enclave", 3)] == "inserted"


def test_reordering_enclave_entries_is_caught(logs, capsys):
    """RT-AUDIT-03: swap two entries of the enclave's log."""
    logs.enclave(
        ("UPDATE audit_events SET seq = -1 WHERE seq = 1",),
        ("UPDATE audit_events SET seq = 1 WHERE seq = 2",),
        ("UPDATE audit_events SET seq = 2 WHERE seq = -1",),
    )
    problems = _verify(capsys)
    assert problems[("enclave", 1)] == problems[("enclave", 2)] == "reordered"


def test_deleting_an_enclave_entry_is_caught(logs, capsys):
    """RT-AUDIT-04: remove a login from the middle of the enclave's log."""
    logs.enclave(("DELETE FROM audit_events WHERE seq = 3",))
    assert _verify(capsys) == {("enclave", 4): "deleted"}


def test_deleting_the_newest_enclave_entries_is_caught(logs, capsys):
    """RT-AUDIT-05: cut off the end of the enclave's log (what is left is still a valid chain)."""
    newest = logs.enclave_seqs()[-1]
    logs.enclave((f"DELETE FROM audit_events WHERE seq > {newest - 2}",))
    assert _verify(capsys)[("enclave", newest - 1)] == "deleted"


def test_deleting_the_newest_forwarded_copies_is_caught(logs, capsys):
    """RT-AUDIT-05b: cut off the enclave's log inside the airlock's forwarded copies; verify forwards them
    again, but the anchor shows the entries at those places are not the ones written there."""
    copies = [
        s
        for (s,) in logs.rows(
            logs.enclave_path, "SELECT seq FROM audit_events WHERE action LIKE 'egress.%' ORDER BY seq"
        )
    ]
    logs.enclave((f"DELETE FROM audit_events WHERE seq >= {copies[-2]}",))
    problems = _verify(capsys)
    assert problems[("enclave", copies[-2])] == "edited"


def test_a_forged_airlock_event_in_the_enclave_log_is_caught(logs, capsys):
    """RT-AUDIT-06: append a well-hashed 'egress.request.released' without its airlock entry."""
    newest = logs.enclave_seqs()[-1]
    prev = logs.rows(logs.enclave_path, f"SELECT entry_hash FROM audit_events WHERE seq = {newest}")[0][0]
    statement, params = _forged_enclave(newest + 1, prev)
    logs.enclave(
        (
            statement.replace("'dataset.approve'", "'egress.request.released'"),
            (
                params[0],
                params[1],
                params[2],
                audit.entry_hash(
                    prev,
                    audit._canonical(newest + 1, params[1], "mallory", "egress.request.released", "alpha", "ok", {}),
                ),
            ),
        )
    )
    assert _verify(capsys) == {("enclave", newest + 1): "inserted"}


# --- the airlock's entries --------------------------------------------------------------------------------------


def test_editing_an_airlock_entry_is_caught(logs, capsys):
    """RT-AUDIT-07: change a vote in the airlock's own log."""
    vote = logs.rows(logs.airlock_path, "SELECT id FROM audit_log WHERE event = 'vote.cast' LIMIT 1")[0][0]
    logs.airlock((f"UPDATE audit_log SET details = replace(details, 'approve', 'reject') WHERE id = {vote}",))
    assert _verify(capsys) == {("airlock", vote): "edited"}


def test_editing_and_rehashing_the_airlock_log_is_caught_by_the_one_log(logs, capsys):
    """RT-AUDIT-08: change the releasing vote and recompute every airlock hash after it: its own chain verifies,
    the copies in the enclave's log do not match."""
    rows = logs.rows(
        logs.airlock_path, "SELECT id, at, actor, event, outcome, request_id, details FROM audit_log ORDER BY id"
    )
    statements, prev = [("DELETE FROM audit_log",)], "0" * 64
    for entry_id, at, actor, event, outcome, request_id, details in rows:
        actor = "mallory" if event == "vote.cast" else actor
        digest = airlock_hash(
            prev_hash=prev, at=at, actor=actor, event=event, outcome=outcome, request_id=request_id, details=details
        )
        statements.append(
            (
                "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry_id, at, actor, event, outcome, request_id, details, prev, digest),
            )
        )
        prev = digest
    logs.airlock(*statements)
    first_vote = next(r[0] for r in rows if r[3] == "vote.cast")
    problems = _verify(capsys)
    assert problems[("airlock", first_vote)] == "edited"
    assert all(log == "airlock" and key >= first_vote for log, key in problems)


def test_inserting_an_airlock_entry_is_caught(logs, capsys):
    """RT-AUDIT-09: slip a forged vote into the middle of the airlock's log, renumbering the rest."""
    ids = logs.airlock_ids()
    # prev_hash is unique in the airlock's table, so the forgery cannot claim entry 4 as its predecessor.
    logs.airlock(
        *[(f"UPDATE audit_log SET id = {i + 1} WHERE id = {i}",) for i in reversed(ids[4:])],
        _forged_airlock(5, "e" * 64),
    )
    assert _verify(capsys)[("airlock", 5)] == "inserted"


def test_reordering_airlock_entries_is_caught(logs, capsys):
    """RT-AUDIT-10: swap two entries of the airlock's log."""
    logs.airlock(
        ("UPDATE audit_log SET id = -1 WHERE id = 3",),
        ("UPDATE audit_log SET id = 3 WHERE id = 4",),
        ("UPDATE audit_log SET id = 4 WHERE id = -1",),
    )
    problems = _verify(capsys)
    assert problems[("airlock", 3)] == problems[("airlock", 4)] == "reordered"


def test_deleting_an_airlock_entry_is_caught(logs, capsys):
    """RT-AUDIT-11: remove a file's addition from the middle of the airlock's log."""
    logs.airlock(("DELETE FROM audit_log WHERE id = 3",))
    problems = _verify(capsys)
    assert problems[("airlock", 3)] == "deleted" and problems[("airlock", 4)] == "deleted"


def test_deleting_the_newest_airlock_entries_is_caught(logs, capsys):
    """RT-AUDIT-12: cut off the release and the download from the end of the airlock's log."""
    newest = logs.airlock_ids()[-1]
    logs.airlock((f"DELETE FROM audit_log WHERE id >= {newest - 1}",))
    assert _verify(capsys) == {("airlock", newest - 1): "deleted", ("airlock", newest): "deleted"}


def test_an_airlock_entry_kept_out_of_the_one_log_is_caught(logs, capsys):
    """RT-AUDIT-13: add an airlock entry whose chain is broken: it is never forwarded, and verify says so."""
    newest = logs.airlock_ids()[-1]
    logs.airlock(_forged_airlock(newest + 1, "f" * 64))
    assert _verify(capsys)[("airlock", newest + 1)] == "missing from the one log"
