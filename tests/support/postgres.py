"""A throwaway PostgreSQL server for the tests that need the real database: `postgres_url`, a pytest plugin
registered in tests/conftest.py.

Started in a temporary cluster on a free loopback port, once per module that asks for it. Under CI=true a
missing PostgreSQL (or psycopg) fails the test: in CI it installs the server with apt-get first if needed,
and never skips.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from tests.support.ports import free_port

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
            os.path.join(bin_dir, "pg_ctl"),
            "-D",
            f"{data}/db",
            "-l",
            f"{data}/log",
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        log = open(f"{data}/log").read() if os.path.exists(f"{data}/log") else ""
        _unavailable(f"could not start PostgreSQL: {exc.stderr} {log}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, os.path.join(bin_dir, "pg_ctl"), "-D", f"{data}/db", "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)
