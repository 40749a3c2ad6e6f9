"""The storage layer and state machine against a real PostgreSQL server,
started by this test in a throwaway cluster on a free loopback port.

Under CI=true a missing PostgreSQL (or psycopg) fails the test: in CI it
installs the server with apt-get first if needed, and never skips.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from egress_review.domain.states import RequestState
from egress_review.storage import audit
from egress_review.storage.models import IMMUTABLE_TABLES, Request, Vote
from egress_review.testing import create_request_at_status, create_request_touching_every_table, make_env, reviewer
from egress_review.testing_hub import free_port

IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"PostgreSQL test cannot run in CI: {reason}")
    pytest.skip(reason)


def _pg_bin() -> str | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _ensure_postgres_installed() -> str | None:
    bin_dir = _pg_bin()
    if bin_dir is None and IN_CI and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env, capture_output=True)
        bin_dir = _pg_bin()
    return bin_dir


@pytest.fixture(scope="module")
def postgres_url():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'psycopg[binary]>=3.1,<4')")
    bin_dir = _ensure_postgres_installed()
    if bin_dir is None:
        _unavailable("no PostgreSQL server binaries (apt-get install postgresql)")
    as_user = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
    data = tempfile.mkdtemp(prefix="egress-pg-")
    if as_user:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(os.path.join(bin_dir, "initdb"), "-D", f"{data}/db", "-U", "postgres", "-A", "trust", "--no-sync")
        run(
            os.path.join(bin_dir, "pg_ctl"), "-D", f"{data}/db", "-l", f"{data}/log", "-w", "-t", "60",
            "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
        )
    except subprocess.CalledProcessError as exc:
        log = open(f"{data}/log").read() if os.path.exists(f"{data}/log") else ""
        _unavailable(f"could not start PostgreSQL: {exc.stderr} {log}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, os.path.join(bin_dir, "pg_ctl"), "-D", f"{data}/db", "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


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
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002_file_decisions"


@pytest.mark.parametrize("statement", ["UPDATE {t} SET id = id", "DELETE FROM {t}", "TRUNCATE {t} CASCADE"])
def test_postgres_triggers_make_fact_tables_append_only(pg_env, statement):
    create_request_touching_every_table(pg_env)
    for table in IMMUTABLE_TABLES:
        if table in ("releases", "revocations") and "SET id" in statement:
            sql = statement.format(t=table).replace("SET id = id", "SET round = round" if table == "releases" else "SET reason = reason")
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
