"""The operator CLI: exit codes and messages that say what to do."""

import pytest

from enclave.cli.main import main


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ENCLAVE_HUB_INTERNAL_PORT", "1")  # no hub: stopping workspaces falls back to the engine
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    monkeypatch.setattr("enclave.hub.workspaces.HubWorkspaces.stop", lambda self, project, user=None: [])
    assert main(["init"]) == 0
    return tmp_path


def test_project_lifecycle_through_the_cli(cli_env, capsys):
    assert main(["project", "create", "alpha", "--title", "A study"]) == 0
    assert main(["project", "suspend", "alpha"]) == 0
    assert main(["project", "list"]) == 0
    out = capsys.readouterr().out
    assert "Created project alpha." in out and "alpha  suspended" in out


def test_bad_input_exits_non_zero_with_advice(cli_env, capsys):
    assert main(["project", "suspend", "ghost"]) == 3
    assert "enclave project list" in capsys.readouterr().err


def test_user_add_prints_the_initial_password_once(cli_env, capsys):
    assert main(["user", "add", "alice", "--role", "analyst"]) == 0
    out = capsys.readouterr().out
    assert "Initial password" in out
    assert main(["user", "list"]) == 0
    listing = capsys.readouterr().out
    password = out.rsplit(": ", 1)[1].strip()
    assert password not in listing


def test_dataset_register_with_missing_folder(cli_env, capsys):
    assert main(["dataset", "register", "cohort", "v1", str(cli_env / "nowhere")]) == 3
    assert "nowhere" in capsys.readouterr().err
    assert main(["dataset", "list"]) == 0
    assert "cohort" not in capsys.readouterr().out


def test_audit_verify_reports_an_intact_log(cli_env, capsys):
    main(["project", "create", "alpha"])
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
