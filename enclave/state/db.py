"""Connecting to the state database and creating its schema.

SQLite (the embedded default) is set up as every SQLite database of the
enclave (state/sqlite.py): WAL, synchronous=FULL, writers with BEGIN
IMMEDIATE, readers with a plain BEGIN. PostgreSQL is used as it comes.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import DDL, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .installation import Installation  # noqa: F401 (its table is part of the schema)
from .login_guard import LoginRecord  # noqa: F401 (its table is part of the schema)
from .models import AuditEvent, Base
from .sqlite import CONNECT_ARGS, configure_sqlite

_SQLITE_APPEND_ONLY = [
    DDL(
        "CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    ),
    DDL(
        "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    ),
]
_POSTGRES_APPEND_ONLY = [
    DDL(
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql"
    ),
    DDL(
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    ),
]
for ddl in _SQLITE_APPEND_ONLY:
    event.listen(AuditEvent.__table__, "after_create", ddl.execute_if(dialect="sqlite"))
for ddl in _POSTGRES_APPEND_ONLY:
    event.listen(AuditEvent.__table__, "after_create", ddl.execute_if(dialect="postgresql"))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Account hashes and TOTP secrets live here: readable by root only.
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        engine = create_engine(url, connect_args=CONNECT_ARGS)
        configure_sqlite(engine, writer_option="writer")
        return engine
    return create_engine(url, pool_pre_ping=True)


def create_schema(engine: Engine) -> None:
    """Create every table that is missing (the enclave's and the login accounts')."""
    from nativeauthenticator.orm import UserInfo

    Base.metadata.create_all(engine)
    UserInfo.__table__.create(engine, checkfirst=True)


class StateDB:
    """The state database of one installation."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        create_schema(self.engine)
        self._writers = sessionmaker(self.engine.execution_options(writer=True), expire_on_commit=False)
        self._readers = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed if the block ends normally, rolled back otherwise."""
        session = self._writers()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only look that takes no write lock."""
        session = self._readers()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def session(self) -> Session:
        """A free-standing read session (the caller closes it)."""
        return self._readers()


_open: dict[str, StateDB] = {}


def open_state_db(url: str) -> StateDB:
    """One StateDB (and connection pool) per URL per process."""
    if url not in _open:
        _open[url] = StateDB(url)
    return _open[url]
