"""Unit-test fixtures: a fresh state database in a temp folder and a recording stand-in for the hub."""

from __future__ import annotations

import pytest

from enclave.operations.base import OperatorContext
from enclave.settings import EnclaveSettings
from enclave.state.db import StateDB
from tests.support.recording import RecordingWorkspaces


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setattr("os.chown", lambda *a, **k: None)  # unit tests may run unprivileged
    state_dir = str(tmp_path / "state")
    monkeypatch.setenv("ENCLAVE_STATE_DIR", state_dir)  # the installation CLI commands in the test act on
    return EnclaveSettings(state_dir=state_dir, instance="unit")


@pytest.fixture
def ctx(settings):
    db = StateDB(settings.database_url)
    return OperatorContext(settings=settings, db=db, actor="op", workspaces=RecordingWorkspaces())


@pytest.fixture
def small_dataset(tmp_path):
    folder = tmp_path / "data" / "cohort"
    folder.mkdir(parents=True)
    (folder / "participants.csv").write_text("participant_id,age\n1000001,50\n")
    (folder / "notes.txt").write_text("synthetic\n")
    return folder
