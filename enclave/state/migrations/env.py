"""Alembic environment of the state database: runs on the connection enclave/state/schema.py passes in."""

from alembic import context
from nativeauthenticator.orm import UserInfo
from sqlalchemy import MetaData

from enclave.state.db import Base

config = context.config
# The enclave's tables and the login accounts' (NativeAuthenticator's one table, kept in this database;
# its metadata is JupyterHub's, whose other tables live in the hub's own database).
_accounts = MetaData()
UserInfo.__table__.to_metadata(_accounts)
target_metadata = [Base.metadata, _accounts]


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
