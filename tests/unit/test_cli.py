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


REGISTER_RECORD = [
    "--provider",
    "UK Example Biobank",
    "--owner-contact",
    "access@example.org",
    "--approved-by",
    "DAC 2026-14",
]


def test_dataset_register_with_missing_folder(cli_env, capsys):
    assert main(["dataset", "register", "cohort", "v1", str(cli_env / "nowhere"), *REGISTER_RECORD]) == 3
    assert "nowhere" in capsys.readouterr().err
    assert main(["dataset", "list"]) == 0
    assert "cohort" not in capsys.readouterr().out


def test_audit_verify_reports_an_intact_log(cli_env, capsys):
    main(["project", "create", "alpha"])
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out


def test_the_data_register_records_each_version_and_an_ended_agreement_stops_approvals(cli_env, small_dataset, capsys):
    with pytest.raises(SystemExit) as usage:  # a register entry needs its provider, owner and approver
        main(["dataset", "register", "cohort", "v1", str(small_dataset)])
    assert usage.value.code == 2
    assert (
        main(
            [
                "dataset",
                "register",
                "cohort",
                "v1",
                str(small_dataset),
                *REGISTER_RECORD,
                "--description",
                "Baseline visit",
                "--received",
                "2026-11-02",
                "--expires",
                "2027-11-01",
            ]
        )
        == 0
    )
    assert main(["dataset", "show", "cohort", "v1"]) == 0
    shown = capsys.readouterr().out
    for fact in (
        "Baseline visit",
        "UK Example Biobank",
        "access@example.org",
        "2026-11-02",
        "2027-11-01",
        "DAC 2026-14",
    ):
        assert fact in shown
    assert main(["project", "create", "alpha"]) == 0
    assert main(["dataset", "record", "cohort", "v1", "--expires", "2026-11-30"]) == 0  # the agreement ended
    assert main(["dataset", "list"]) == 0
    assert "2026-11-30 (ended)" in capsys.readouterr().out
    assert main(["dataset", "approve", "alpha", "cohort", "v1"]) == 3
    assert "agreement ended on 2026-11-30" in capsys.readouterr().err
    assert main(["dataset", "record", "cohort", "v1", "--expires", "2026-10-01"]) == 3  # before it was received
    assert main(["dataset", "record", "cohort", "v1"]) == 3
