"""The state database under alembic, on SQLite and on a real PostgreSQL server: a database of the first
revision, holding data, is refused until `enclave db upgrade`, then upgraded to the newest revision with
everything intact and the audit chain verifying; one made before migrations is recognised and upgraded."""

from __future__ import annotations

import secrets

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from nativeauthenticator.orm import UserInfo
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from enclave.atrest.totp_seal import TotpSeal
from enclave.state import audit, schema, totp_secrets
from enclave.state.db import Base, StateDB, make_engine
from enclave.state.login_guard import LoginGuard
from enclave.state.models import Project, User


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'enclave.sqlite'}"
    server = request.getfixturevalue("postgres_url")
    name = f"state_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _at_first_revision_with_data(url: str) -> None:
    """What an installation of the first release holds: projects, people, and an audit log."""
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(schema._config(connection), schema.FIRST)
    # Written as that release wrote them (its columns), not through today's models.
    with Session(engine) as session, session.begin():
        session.execute(
            text(
                "INSERT INTO projects (id, name, title, status, image, approvals_required, created_at) "
                "VALUES (1, 'alpha', 'A study', 'ACTIVE', 'workspace', 2, '2026-11-01 09:00:00')"
            )
        )
        session.execute(
            text(
                "INSERT INTO enclave_users (id, name, status, created_at) "
                "VALUES (1, 'alice', 'ACTIVE', '2026-11-01 09:00:00')"
            )
        )
        session.execute(text("INSERT INTO role_grants (id, user_id, role) VALUES (1, 1, 'ANALYST')"))
        for n in range(5):
            audit.record(session, actor="op", action="project.create", target=f"p{n}")
    engine.dispose()


def test_a_first_revision_database_is_refused_then_upgraded_with_everything_intact(database_url):
    _at_first_revision_with_data(database_url)
    with pytest.raises(schema.SchemaNotCurrent, match="revision 0001.*'enclave db upgrade'"):
        StateDB(database_url)

    engine = make_engine(database_url)
    assert schema.upgrade(engine) == (schema.FIRST, schema.head())
    assert schema.upgrade(engine) == (schema.head(), schema.head())  # twice: nothing to do
    engine.dispose()

    db = StateDB(database_url)
    with db.reading() as session:
        assert [(p.name, p.idle_timeout) for p in session.execute(select(Project)).scalars()] == [("alpha", None)]
        assert [u.role_names for u in session.execute(select(User)).scalars()] == [["analyst"]]
        assert len(audit.verify_chain(session)) == 0  # the chain, hashed before the upgrade, still holds
    guard = LoginGuard(db)  # the second revision's table works
    assert guard.failed("alice") == 1
    db.engine.dispose()


@pytest.mark.parametrize("made_as", ["0001", "0002"])
def test_a_database_made_before_migrations_is_recorded_as_what_it_is_and_upgraded(database_url, made_as):
    """create_all made whatever the models held that day: the first release's tables, or (code of the day
    the migrations came) already the login guard's too."""
    engine = make_engine(database_url)
    with engine.begin() as connection:  # those tables, as create_all made them: no revision recorded
        command.upgrade(schema._config(connection), made_as)
        connection.execute(text("DROP TABLE alembic_version"))
    with pytest.raises(schema.SchemaNotCurrent, match="from before migrations"):
        StateDB(database_url)
    assert schema.upgrade(engine) == (None, schema.head())
    engine.dispose()
    StateDB(database_url).engine.dispose()


def test_a_database_that_is_not_the_enclaves_is_not_touched(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.sqlite'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (x TEXT)"))
    with pytest.raises(schema.SchemaNotCurrent, match="not an enclave state database"):
        schema.upgrade(engine)
    assert schema.revision_of(engine) is None


def test_the_migrations_make_exactly_the_models(tmp_path):
    """A model changed without a migration fails here: write the migration (alembic revision --autogenerate)."""
    db = StateDB(f"sqlite:///{tmp_path / 'new.sqlite'}")
    models = MetaData()
    for table in [*Base.metadata.tables.values(), UserInfo.__table__]:
        table.to_metadata(models)
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), models) == []


def test_plain_totp_secrets_are_sealed_by_the_upgrade_with_the_installations_key(database_url, tmp_path):
    """Revision 0006: each enrolled account's plain secret moves, sealed, into totp_secrets; no plain one stays."""
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(schema._config(connection), "0005")
    with Session(engine) as session, session.begin():
        for n, (name, has_2fa, secret) in enumerate([("tina", True, "JBSWY3DPEHPK3PXP"), ("ulla", False, "KRSXG5A=")]):
            session.execute(
                text(
                    "INSERT INTO users_info (id, username, password, is_authorized, has_2fa, otp_secret) "
                    "VALUES (:id, :name, :password, :yes, :has_2fa, :secret)"
                ),
                {"id": n + 1, "name": name, "password": b"$2b$", "yes": True, "has_2fa": has_2fa, "secret": secret},
            )
    with pytest.raises(schema.SchemaNotCurrent, match="'enclave db upgrade'"):
        schema.upgrade(engine)  # without the key: refused, nothing changed
    assert schema.revision_of(engine) == "0005"

    seal = TotpSeal(tmp_path / "hub")
    schema.upgrade(engine, seal_totp=seal.seal)
    with Session(engine) as session:
        assert session.execute(select(UserInfo.otp_secret)).scalars().all() == [None, None]
        assert totp_secrets.sealed_secret(session, "ulla") is None
        sealed = totp_secrets.sealed_secret(session, "tina")
    assert "JBSWY3DPEHPK3PXP" not in sealed and seal.open(sealed) == "JBSWY3DPEHPK3PXP"
    engine.dispose()
