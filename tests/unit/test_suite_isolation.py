"""A test run beside a live installation leaves that installation's state, anchor and audit untouched."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from enclave.airlock.verify import verify_one_log
from enclave.settings import EnclaveSettings
from enclave.state import audit
from enclave.state.db import StateDB

REPO = Path(__file__).resolve().parents[2]

# What the suite's tests do in effect when they take the installation from the environment: make the
# default settings, open their database, write to the audit log (whose anchor follows the state folder).
PROBE = """
from enclave.settings import EnclaveSettings
from enclave.state import audit
from enclave.state.db import StateDB


def test_writes_through_the_default_installation():
    settings = EnclaveSettings()
    settings.prepare_state_dir()
    with StateDB(settings.database_url).transaction() as session:
        audit.record(session, actor="test-run", action="probe.write", target="whatever")
"""


def _fingerprint(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_test_run_never_writes_into_the_installation_make_exports(tmp_path, monkeypatch):
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    live = EnclaveSettings(state_dir=str(tmp_path / "live-state"), instance="live")
    live.prepare_state_dir()
    with StateDB(live.database_url).transaction() as session:
        audit.record(session, actor="operator", action="demo.seed", target="demo")
    copy = tmp_path / "worm" / "anchor"
    before = _fingerprint(tmp_path)
    probe = tmp_path / "probe" / "test_probe.py"
    probe.parent.mkdir()
    probe.write_text(PROBE)
    # As `make test` runs beside a live installation: its folder and an anchor copy in the environment.
    env = {**os.environ, "ENCLAVE_STATE_DIR": live.state_dir, "ENCLAVE_AUDIT_ANCHOR_COPY": str(copy)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(probe.parent),
            str(probe),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert _fingerprint(tmp_path) == {**before, **_probe_files(tmp_path)}
    monkeypatch.delenv("ENCLAVE_AUDIT_ANCHOR_COPY", raising=False)
    verdict = verify_one_log(live)
    assert verdict.problems == [] and verdict.foreign == []


def _probe_files(root: Path) -> dict[str, str]:
    """The probe's own file (and Python's caches of it), the only things the run may add under tmp."""
    return {k: v for k, v in _fingerprint(root).items() if k.startswith("probe/")}
