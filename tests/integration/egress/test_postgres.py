"""The storage layer and state machine against a real PostgreSQL server, in a throwaway cluster
(`postgres_url`, tests/support/postgres.py).
"""

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from egress_review.domain.states import RequestState
from egress_review.storage import audit
from egress_review.storage.models import IMMUTABLE_TABLES, Request, Vote
from harness.airlock_kit import make_env, reviewer
from tests.support.airlock_states import create_request_at_status, create_request_touching_every_table


@pytest.fixture
def pg_env(tmp_path, postgres_url):
    from sqlalchemy import create_engine

    schema_reset = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with schema_reset.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    schema_reset.dispose()
    env = make_env(tmp_path, db_url=postgres_url)
    yield env
    env.db.dispose()


def test_full_lifecycle_on_postgres_keeps_an_intact_audit_chain(pg_env):
    rid = create_request_at_status(pg_env, RequestState.REVOKED)
    with pg_env.db.read() as s:
        assert s.get(Request, rid).state == "revoked"
        assert audit.verify_chain(s) == []
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003_notifications"


@pytest.mark.parametrize("statement", ["UPDATE {t} SET id = id", "DELETE FROM {t}", "TRUNCATE {t} CASCADE"])
def test_postgres_triggers_make_fact_tables_append_only(pg_env, statement):
    create_request_touching_every_table(pg_env)
    for table in IMMUTABLE_TABLES:
        if table in ("releases", "revocations") and "SET id" in statement:
            sql = statement.format(t=table).replace(
                "SET id = id", "SET round = round" if table == "releases" else "SET reason = reason"
            )
        else:
            sql = statement.format(t=table)
        with pytest.raises(DatabaseError, match="append-only"):
            with pg_env.db.write() as s:
                s.execute(text(sql))


def test_concurrent_votes_on_postgres_both_count(pg_env):
    for _ in range(3):
        rid = create_request_at_status(pg_env, RequestState.SUBMITTED)
        barrier = threading.Barrier(2)
        errors = []

        def vote(name):
            barrier.wait()
            try:
                pg_env.airlock.reviews.vote(reviewer(name), rid, "approve")
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=vote, args=(n,)) for n in ("rita", "ravi")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        with pg_env.db.read() as s:
            assert s.get(Request, rid).state == "released"
            assert s.execute(select(func.count()).select_from(Vote).where(Vote.request_id == rid)).scalar() == 2
    with pg_env.db.read() as s:
        assert audit.verify_chain(s) == []


def test_postgres_migrated_schema_matches_the_models(pg_env):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from egress_review.storage.models import Base

    with pg_env.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
