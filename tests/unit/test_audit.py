"""The enclave's audit log: append-only in the database, hash-chained, and anchored outside it."""

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from enclave.airlock.verify import verify_one_log
from enclave.state import audit
from enclave.state.audit_anchor import COPY_VARIABLE, anchor_paths, read_heads


def _write(ctx, n=3):
    for i in range(n):
        with ctx.db.transaction() as session:
            audit.record(session, actor="op", action=f"thing.{i}", target="t")


def _chain(ctx):
    with ctx.db.reading() as session:
        return [(p.key, p.kind) for p in audit.verify_chain(session)]


def _problems(settings):
    return [(p.log, p.key, p.kind) for p in verify_one_log(settings).problems]


def _anchor(settings) -> Path:
    return anchor_paths(settings.database_url)[0]


def _raw(ctx, *statements):
    """Tamper as an attacker with file access would: drop the guard, change rows."""
    path = ctx.db.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        for statement, *params in statements:
            conn.execute(statement, *params)


def _forged(ctx, seq, prev_hash, action="forged"):
    """An entry with a correct hash, as someone who read this code would make it."""
    at = "2026-11-21T10:00:00.000000+00:00"
    canonical = audit._canonical(seq, at, "mallory", action, "t", "ok", {})
    return (
        "INSERT INTO audit_events (seq, at, actor, action, target, outcome, details, prev_hash, entry_hash) "
        "VALUES (?, ?, 'mallory', ?, 't', 'ok', '{}', ?, ?)",
        (seq, at, action, prev_hash, audit.entry_hash(prev_hash, canonical)),
    )


def _hashes(ctx):
    with ctx.db.reading() as session:
        return {seq: h for seq, h in session.execute(text("SELECT seq, entry_hash FROM audit_events"))}


def test_a_clean_log_verifies_with_its_anchor(ctx, settings):
    _write(ctx)
    assert _chain(ctx) == []
    assert _problems(settings) == []


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"])
def test_updates_and_deletes_are_refused_by_the_database(ctx, statement):
    _write(ctx)
    with pytest.raises(DatabaseError, match="append-only"):
        with ctx.db.transaction() as session:
            session.execute(text(statement))


def test_verify_names_an_edited_entry(ctx, settings):
    _write(ctx)
    _raw(ctx, ("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2",))
    assert _chain(ctx) == [(2, "edited")]
    assert _problems(settings) == [("enclave", 2, "edited")]


def test_verify_names_a_deleted_entry_and_how_many(ctx, settings):
    _write(ctx, 4)
    _raw(ctx, ("DELETE FROM audit_events WHERE seq IN (2, 3)",))
    (problem,) = verify_one_log(settings).problems
    assert (problem.key, problem.kind) == (4, "deleted") and "entries 2..3" in problem.message


def test_verify_names_reordered_entries(ctx, settings):
    _write(ctx)
    _raw(
        ctx,
        ("UPDATE audit_events SET seq = 99 WHERE seq = 1",),
        ("UPDATE audit_events SET seq = 1 WHERE seq = 2",),
        ("UPDATE audit_events SET seq = 2 WHERE seq = 99",),
    )
    problems = verify_one_log(settings).problems
    assert {(p.key, p.kind) for p in problems} == {(1, "reordered"), (2, "reordered")}
    assert "written as entry 2" in next(p.message for p in problems if p.key == 1)


def test_verify_names_an_inserted_entry(ctx, settings):
    _write(ctx, 4)
    hashes = _hashes(ctx)
    # Make room after entry 2 and put a well-formed entry there, chained onto entry 2.
    _raw(
        ctx,
        *[(f"UPDATE audit_events SET seq = {seq + 1} WHERE seq = {seq}",) for seq in (4, 3)],
        _forged(ctx, 3, hashes[2]),
    )
    problems = {p.key: p.kind for p in verify_one_log(settings).problems}
    assert problems[3] == "inserted"
    # The entries moved to make room are named too, and nothing before the insertion.
    assert {4, 5} <= set(problems) and not {1, 2} & set(problems)


def test_deleting_the_newest_entries_is_caught_by_the_anchor(ctx, settings):
    _write(ctx, 5)
    _raw(ctx, ("DELETE FROM audit_events WHERE seq >= 4",))
    assert _chain(ctx) == []  # what is left is still a valid chain
    (problem,) = verify_one_log(settings).problems
    assert (problem.key, problem.kind) == (4, "deleted") and "entries 4..5" in problem.message


def test_an_entry_appended_behind_the_enclaves_back_is_caught_by_the_anchor(ctx, settings):
    _write(ctx, 2)
    _raw(ctx, _forged(ctx, 3, _hashes(ctx)[2]))
    assert _chain(ctx) == []
    assert _problems(settings) == [("enclave", 3, "inserted")]


def test_a_rehashed_chain_is_caught_by_the_anchor(ctx, settings):
    """Edit entry 1 and recompute every hash after it: the chain verifies, the anchor does not."""
    _write(ctx, 3)
    statements = [("DELETE FROM audit_events",)]
    prev = audit.GENESIS
    for seq in (1, 2, 3):
        statement, params = _forged(ctx, seq, prev, action=f"rewritten.{seq}")
        statements.append((statement, params))
        prev = params[-1]
    _raw(ctx, *statements)
    assert _chain(ctx) == []
    assert _problems(settings) == [("enclave", seq, "edited") for seq in (1, 2, 3)]


def test_each_commit_anchors_its_head_in_a_private_file(ctx, settings):
    _write(ctx, 2)
    with ctx.db.transaction() as session:  # two entries in one transaction: one line, the newer
        audit.record(session, actor="op", action="a", target="t")
        audit.record(session, actor="op", action="b", target="t")
    path = _anchor(settings)
    assert path == settings.state_path / "audit" / "anchor"
    assert path.stat().st_mode & 0o777 == 0o600
    heads, unreadable = read_heads(path)
    assert [h.seq for h in heads] == [1, 2, 4] and unreadable == []
    assert heads[-1].entry_hash == _hashes(ctx)[4]


def test_a_rolled_back_entry_is_not_anchored(ctx, settings):
    _write(ctx, 1)
    with pytest.raises(RuntimeError):
        with ctx.db.transaction() as session:
            audit.record(session, actor="op", action="never", target="t")
            raise RuntimeError("the change failed")
    assert [h.seq for h in read_heads(_anchor(settings))[0]] == [1]
    _write(ctx, 1)
    assert _problems(settings) == []


def test_the_anchor_copy_is_written_and_checked_too(ctx, settings, tmp_path, monkeypatch):
    copy = tmp_path / "worm" / "enclave-anchor"
    monkeypatch.setenv(COPY_VARIABLE, str(copy))
    _write(ctx, 2)
    assert [h.seq for h in read_heads(copy)[0]] == [1, 2]
    # An attacker who rewrites the local anchor after cutting the log is still caught by the copy.
    _raw(ctx, ("DELETE FROM audit_events WHERE seq = 2",))
    _anchor(settings).write_text(json.dumps({"seq": 1, "entry_hash": _hashes(ctx)[1], "at": "x"}) + "\n")
    assert _problems(settings) == [("enclave", 2, "deleted")]


def test_a_missing_anchor_is_a_problem_once_there_are_entries(ctx, settings):
    assert _problems(settings) == []
    _write(ctx, 1)
    _anchor(settings).unlink()
    assert [(p.kind, p.key) for p in verify_one_log(settings).problems] == [("deleted", None)]


def test_state_database_is_private_to_root(ctx):
    path = Path(ctx.db.url.removeprefix("sqlite:///"))
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_torn_last_anchor_line_is_ignored_but_a_changed_line_is_not(ctx, settings):
    _write(ctx, 2)
    path = _anchor(settings)
    with path.open("a") as anchor:
        anchor.write('{"seq": 3, "entry_')  # a power cut in the middle of a write
    assert _problems(settings) == []
    path.write_text(path.read_text().replace('"seq": 1', '"seq": one', 1))
    assert [p.message for p in verify_one_log(settings).problems] == ["line 1 cannot be read: the anchor was changed"]


def test_an_entry_committed_while_verify_reads_is_not_taken_for_a_deletion(ctx, settings):
    from enclave.state.audit_anchor import check_against_anchor

    _write(ctx, 3)
    read_before_the_commit = {seq: h for seq, h in _hashes(ctx).items() if seq < 3}
    paths = anchor_paths(settings.database_url)
    assert check_against_anchor(paths, read_before_the_commit, newest_seq=lambda: 3) == []
    assert [p.kind for p in check_against_anchor(paths, read_before_the_commit, newest_seq=lambda: 2)] == ["deleted"]


def _installation(root: Path):
    """A second installation with its own state folder and database."""
    from enclave.operations.base import OperatorContext
    from enclave.settings import EnclaveSettings
    from enclave.state.db import open_state_db
    from tests.support.recording import RecordingWorkspaces

    other = EnclaveSettings(state_dir=str(root), instance="other")
    other.prepare_state_dir()
    return other, OperatorContext(
        settings=other, db=open_state_db(other.database_url), actor="op", workspaces=RecordingWorkspaces()
    )


def test_each_anchor_line_names_its_database(ctx, settings):
    from enclave.state.installation import installation_id

    _write(ctx, 2)
    with ctx.db.reading() as session:
        this = installation_id(session)
    assert this and {h.installation for h in read_heads(_anchor(settings))[0]} == {this}


def test_lines_of_another_database_are_set_aside_not_taken_for_edits(ctx, settings, tmp_path, monkeypatch):
    # Two installations write into one anchor copy (as a test run given a live installation's folder did).
    shared = tmp_path / "shared-anchor"
    monkeypatch.setenv(COPY_VARIABLE, str(shared))
    _write(ctx, 2)
    other, other_ctx = _installation(tmp_path / "other-state")
    _write(other_ctx, 3)
    _write(ctx, 1)
    verdict = verify_one_log(settings)
    assert verdict.problems == []
    assert [line.line for line in verdict.foreign] == [3, 4, 5]
    assert "another installation" in str(verdict.foreign[0])
    # The other installation sees this one's lines as foreign in turn, and is intact too.
    assert verify_one_log(other).problems == [] and len(verify_one_log(other).foreign) == 3


def test_a_line_moved_to_another_database_does_not_hide_a_cut(ctx, settings):
    # Relabelling this database's newest line as another's leaves the newest entry unanchored: still caught.
    _write(ctx, 2)
    path = _anchor(settings)
    lines = path.read_text().splitlines()
    relabelled = json.loads(lines[-1]) | {"installation": "00000000-0000-0000-0000-000000000000"}
    path.write_text("\n".join([*lines[:-1], json.dumps(relabelled)]) + "\n")
    verdict = verify_one_log(settings)
    assert [(p.key, p.kind) for p in verdict.problems] == [(2, "inserted")]
    assert len(verdict.foreign) == 1
