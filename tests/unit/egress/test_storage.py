"""The database: migrations match the models, fact tables are append-only for
real (triggers), and the audit chain detects tampering behind the triggers."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from egress_review.domain.events import AuditEvent
from egress_review.domain.states import RequestState
from egress_review.storage import audit
from egress_review.storage.models import IMMUTABLE_TABLES, Base
from tests.support.airlock_states import create_request_at_status, create_request_touching_every_table


def test_migrated_schema_matches_the_models(env):
    with env.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode(env):
    with env.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_upgrade_is_idempotent(env):
    env.db.upgrade()
    with env.db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0003_notifications"


def test_migration_and_models_agree_on_append_only_tables():
    import importlib.util
    from pathlib import Path

    import egress_review.storage.db as db_mod

    def migration(name):
        path = Path(db_mod.MIGRATIONS_DIR) / "versions" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    made_append_only = set(migration("0001_initial").IMMUTABLE_TABLES) | {migration("0002_file_decisions").TABLE}
    assert made_append_only == set(IMMUTABLE_TABLES)


@pytest.mark.parametrize("table", IMMUTABLE_TABLES)
def test_fact_tables_refuse_update_and_delete(env, table):
    create_request_touching_every_table(env)
    with env.db.engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() > 0
    for statement in (f"UPDATE {table} SET rowid = rowid", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"):
            with env.db.write() as s:
                s.execute(text(statement))


def test_audit_chain_is_intact_after_a_create_request_touching_every_table(env):
    create_request_touching_every_table(env)
    with env.db.read() as s:
        assert audit.verify_chain(s) == []


def test_audit_chain_detects_an_entry_changed_behind_the_triggers(env):
    create_request_at_status(env, RequestState.RELEASED)
    with env.db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'someone-else' WHERE id = 3")
    with env.db.read() as s:
        problems = audit.verify_chain(s)
    assert [p.entry_id for p in problems] == [3]


def test_audit_chain_detects_a_deleted_entry(env):
    create_request_at_status(env, RequestState.RELEASED)
    with env.db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        conn.exec_driver_sql("DELETE FROM audit_log WHERE id = 2")
    with env.db.read() as s:
        problems = audit.verify_chain(s)
    assert problems and problems[0].entry_id == 3


def test_audit_entry_is_rolled_back_with_the_change_it_records(env):
    with pytest.raises(RuntimeError):
        with env.db.write() as s:
            audit.append(s, actor="x", event=AuditEvent.REQUEST_CREATED, details={"n": 1})
            raise RuntimeError("the change failed")
    with env.db.read() as s:
        assert s.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0


def test_each_entry_chains_to_the_previous_hash(env):
    with env.db.write() as s:
        a = audit.append(s, actor="x", event=AuditEvent.REQUEST_CREATED)
        b = audit.append(s, actor="y", event=AuditEvent.REQUEST_CREATED)
    assert a.prev_hash == audit.GENESIS_HASH and b.prev_hash == a.entry_hash
