"""Connecting to the state database; its schema is alembic's (state/schema.py).

SQLite (the embedded default) is set up as every SQLite database of the
enclave (state/sqlite.py): WAL, synchronous=FULL, writers with BEGIN
IMMEDIATE, readers with a plain BEGIN. PostgreSQL is used as it comes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import schema
from .installation import Installation  # noqa: F401 (its table is part of the models)
from .login_guard import LoginRecord  # noqa: F401 (its table is part of the models)
from .models import Base  # noqa: F401 (every model imported: the migrations' env reads Base from here)
from .sqlite import CONNECT_ARGS, configure_sqlite
from .totp_secrets import SealedTotpSecret  # noqa: F401 (its table is part of the models)


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


class StateDB:
    """The state database of one installation."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        schema.prepare(self.engine)  # a new database is made at the newest revision; an older one refused
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
