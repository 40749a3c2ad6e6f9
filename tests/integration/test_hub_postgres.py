"""The hub's own database on a real PostgreSQL server (settings.hub_database_url): a whole installation starts
on it, a person logs in, and the hub's records are in PostgreSQL, not in a SQLite file."""

from __future__ import annotations

import secrets

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from enclave.operations import people
from harness.enclave import build_enclave, cleanup_instance, make_settings, start_hub, stop_hub
from tests.support.hub import HubUser


def test_the_hub_keeps_its_records_in_postgresql(postgres_url, docker_client, tmp_path):
    name = f"hub_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    hub_url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)

    settings = make_settings(tmp_path, prefix="enctest-hubpg")
    settings.hub_database_url = hub_url
    enclave = build_enclave(tmp_path, settings)
    account = people.add_user(enclave.ctx, "pat", ["analyst"])
    try:
        start_hub(enclave)
        assert HubUser(enclave.url, "pat", account.initial_password).logged_in
    finally:
        stop_hub(enclave)
        cleanup_instance(settings.instance)
    hub_db = create_engine(hub_url)
    with hub_db.connect() as connection:
        assert connection.execute(text("SELECT name FROM users")).scalars().all() == ["pat"]
    hub_db.dispose()
    assert not (settings.hub_dir / "jupyterhub.sqlite").exists()
