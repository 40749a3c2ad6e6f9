"""The audit log is append-only in the database and its hash chain exposes tampering."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from enclave.state import audit

pytestmark = pytest.mark.unit


def _write(ctx, n=3):
    for i in range(n):
        with ctx.db.transaction() as session:
            audit.record(session, actor="op", action=f"thing.{i}", target="t")


def _verify(ctx):
    with ctx.db.transaction() as session:
        return audit.verify_chain(session)


def test_a_clean_log_verifies(ctx):
    _write(ctx)
    assert _verify(ctx) == []


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"])
def test_updates_and_deletes_are_refused_by_the_database(ctx, statement):
    _write(ctx)
    with pytest.raises(DatabaseError, match="append-only"):
        with ctx.db.transaction() as session:
            session.execute(text(statement))


def _raw(ctx, *statements):
    """Tamper as an attacker with file access would: drop the guard, change rows."""
    with ctx.db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_verify_names_an_edited_entry(ctx):
    _write(ctx)
    _raw(ctx, "UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2")
    assert [(p.seq, p.message) for p in _verify(ctx)] == [(2, "content was changed after it was written")]


def test_verify_names_a_deleted_entry(ctx):
    _write(ctx)
    _raw(ctx, "DELETE FROM audit_events WHERE seq = 2")
    problems = _verify(ctx)
    assert problems and all(p.seq == 3 for p in problems)
    assert any("missing" in p.message for p in problems)


def test_verify_names_reordered_entries(ctx):
    _write(ctx)
    _raw(ctx, "UPDATE audit_events SET seq = 99 WHERE seq = 1", "UPDATE audit_events SET seq = 1 WHERE seq = 2",
         "UPDATE audit_events SET seq = 2 WHERE seq = 99")
    assert {p.seq for p in _verify(ctx)} >= {1, 2}


def test_state_database_is_private_to_root(ctx):
    from pathlib import Path

    path = Path(ctx.db.url.removeprefix("sqlite:///"))
    assert path.stat().st_mode & 0o777 == 0o600
