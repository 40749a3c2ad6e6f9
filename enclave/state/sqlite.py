"""How every SQLite database of the enclave is opened: one set-up, so they cannot drift apart.

WAL (readers never block the writer), synchronous=FULL (a commit is on disk before it returns: the
audit log's hash chain and its anchor must agree after a power cut), foreign keys enforced, and
30 seconds of waiting on a lock before giving up. SQLAlchemy, not the driver, starts transactions:
writers with BEGIN IMMEDIATE, so concurrent writers queue instead of failing half-way; readers with a
plain BEGIN, which never blocks anyone. The airlock's database (egress_review/storage/db.py) is set up
identically; tests/unit/test_sqlite_setup.py opens both on real files and compares.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

PRAGMAS = (
    ("journal_mode", "WAL"),
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
    ("busy_timeout", "30000"),
)
CONNECT_ARGS = {"timeout": 30}  # the driver's own wait for a lock, in seconds, as busy_timeout


def configure_sqlite(engine: Engine, writer_option: str) -> None:
    """Set the pragmas on each new connection; begin transactions of connections whose execution
    options carry `writer_option` with BEGIN IMMEDIATE, others with BEGIN."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" below decides when transactions start
        cursor = dbapi_connection.cursor()
        for name, value in PRAGMAS:
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(writer_option) else "BEGIN")
