"""Engine, sessions and transactions.

Write transactions are serialised: on SQLite they start with
``BEGIN IMMEDIATE`` (WAL mode, so readers are never blocked), on PostgreSQL
they first take one transaction-scoped advisory lock. A write transaction
therefore always sees the latest committed state: two reviewers voting at the
same moment are applied one after the other and both count, and the audit
chain never forks. Airlock traffic is a few writes a minute; serialising them
buys simple, provable correctness.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_WRITE_LOCK_KEY = 0x45475245  # "EGRE": the advisory lock every PostgreSQL write transaction takes


# The same set-up as every SQLite database of the enclave (enclave/state/sqlite.py; this package may not
# import it): WAL, synchronous=FULL, foreign keys, a 30 s lock wait. tests/unit/test_sqlite_setup.py
# opens both on real files and compares.
SQLITE_PRAGMAS = (
    ("journal_mode", "WAL"),
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
    ("busy_timeout", "30000"),
)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for name, value in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("egress_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class Database:
    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        connect_args = {"check_same_thread": False, "timeout": 30} if url.startswith("sqlite") else {}
        self.engine = create_engine(url, echo=echo, connect_args=connect_args, pool_pre_ping=True)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write_engine = self.engine.execution_options(egress_write=True)
        self._read_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=self._write_engine, expire_on_commit=False)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (``alembic upgrade head``)."""
        cfg = alembic_config(self.url)
        with self.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._read_sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One serialised transaction: commits on success, rolls back on any error."""
        with self._write_sessions() as session, session.begin():
            if not self.is_sqlite:
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY})
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
