"""Every SQLite database, the enclave's (state and audit log) and the airlock's, is set up the same way:
WAL, synchronous=FULL, foreign keys, a 30 s lock wait; writers begin with BEGIN IMMEDIATE. Checked on
real database files through each side's own engine, so a change to one set-up alone fails here."""

from __future__ import annotations

import sqlite3

from sqlalchemy import text

from egress_review.storage.db import SQLITE_PRAGMAS, Database
from enclave.state.db import StateDB
from enclave.state.sqlite import PRAGMAS

EXPECTED = {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 30000}  # 2: FULL


def _pragmas(connection) -> dict:
    return {name: connection.execute(text(f"PRAGMA {name}")).scalar() for name in EXPECTED}


def _statements(db_engine, writer_options: dict) -> list[str]:
    """The statements a write transaction sends first, as SQLite's own trace sees them."""
    seen: list[str] = []
    with db_engine.execution_options(**writer_options).connect() as connection:
        raw = connection.connection.driver_connection
        raw.set_trace_callback(seen.append)
        with connection.begin():
            connection.execute(text("SELECT 1"))
        raw.set_trace_callback(None)
    return seen


def test_the_enclave_and_the_airlock_declare_the_same_pragmas():
    assert tuple(PRAGMAS) == tuple(SQLITE_PRAGMAS)


def test_the_enclaves_database_is_set_up_as_declared(tmp_path):
    state = StateDB(f"sqlite:///{tmp_path / 'enclave.sqlite'}")
    with state.engine.connect() as connection:
        assert _pragmas(connection) == EXPECTED
    assert _statements(state.engine, {"writer": True})[0] == "BEGIN IMMEDIATE"
    assert _statements(state.engine, {})[0] == "BEGIN"


def test_the_airlocks_database_is_set_up_the_same_way(tmp_path):
    airlock = Database(f"sqlite:///{tmp_path / 'airlock.sqlite'}")
    with airlock.engine.connect() as connection:
        assert _pragmas(connection) == EXPECTED
    assert _statements(airlock.engine, {"egress_write": True})[0] == "BEGIN IMMEDIATE"
    assert _statements(airlock.engine, {})[0] == "BEGIN"
    airlock.dispose()


def test_the_files_are_in_wal_mode_for_every_later_opener(tmp_path):
    for path, opener in ((tmp_path / "enclave.sqlite", StateDB), (tmp_path / "airlock.sqlite", Database)):
        db = opener(f"sqlite:///{path}")
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        plain = sqlite3.connect(path)
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # WAL is kept by the file itself
        plain.close()
