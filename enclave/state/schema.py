"""The state database's schema, under alembic (enclave/state/migrations/).

A new, empty database is made at the newest revision. A database at an older revision is never changed
behind the operator's back: every process that opens it refuses, saying to back up and run
`enclave db upgrade`, which upgrades it (one transaction on PostgreSQL; SQLite's batch mode copies
tables). A database made before migrations existed (by `create_all`, no revision recorded) is recognised
by its tables, recorded as the revision they are (the first, unless create_all already made a later
revision's changes), and upgraded from there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from ..errors import EnclaveError

MIGRATIONS = Path(__file__).with_name("migrations")
FIRST = "0001"
# The tables of the first revision: a database that has them and no recorded revision predates migrations.
FIRST_TABLES = frozenset(
    {
        "audit_events",
        "dataset_approvals",
        "dataset_extracts",
        "datasets",
        "egress_budgets",
        "egress_marks",
        "egress_usage",
        "enclave_users",
        "installation",
        "memberships",
        "projects",
        "role_grants",
        "users_info",
    }
)


class SchemaNotCurrent(EnclaveError):
    pass


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    return ScriptDirectory.from_config(_config(None)).get_current_head()


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def prepare(engine: Engine) -> None:
    """Make a new database at the newest revision; refuse one that is not at it."""
    current = revision_of(engine)
    if current == head():
        return
    tables = _tables(engine) - {"alembic_version"}
    if current is None and not tables:
        with engine.begin() as connection:
            command.upgrade(_config(connection), "head")
        return
    found = f"revision {current}" if current else "a schema from before migrations"
    raise SchemaNotCurrent(
        f"The state database ({engine.url.render_as_string(hide_password=True)}) has {found}; this enclave needs "
        f"revision {head()}. Stop the enclave ('enclave down'), back it up ('enclave backup DIR'), then run "
        "'enclave db upgrade'."
    )


def _revision_made_by_create_all(connection, tables: set[str]) -> str:
    """create_all made whatever the models held on the day: the newest revision whose changes are there."""
    if "allowed_packages" in tables:
        return "0005"
    if "idle_timeout" in {c["name"] for c in inspect(connection).get_columns("projects")}:
        return "0003"
    if "login_guard" in tables:
        return "0002"
    return FIRST


def upgrade(engine: Engine, seal_totp: Callable[[str], str] | None = None) -> tuple[str | None, str]:
    """Bring the database to the newest revision; (the revision before, the one after).

    `seal_totp` seals a TOTP secret with the installation's key (enclave/atrest/totp_seal.py): revision 0006
    moves plain secrets into sealed ones, and refuses to run without it when there are any."""
    before = revision_of(engine)
    with engine.begin() as connection:
        config = _config(connection)
        config.attributes["seal_totp"] = seal_totp
        if before is None:
            tables = set(inspect(connection).get_table_names())
            if tables and not FIRST_TABLES <= tables:
                raise SchemaNotCurrent(
                    f"The state database has tables but no recorded revision, and they are not the first "
                    f"revision's (missing: {', '.join(sorted(FIRST_TABLES - tables))}): it is not an enclave "
                    "state database, or it was damaged. Restore it from a backup."
                )
            if tables:  # made by create_all before migrations: recorded as the revision its tables are
                command.stamp(config, _revision_made_by_create_all(connection, tables))
        command.upgrade(config, "head")
    return before, head()
