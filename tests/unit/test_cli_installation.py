"""The CLI finds its installation the same way every time, says which it used, and never makes one by accident."""

from __future__ import annotations

import json

import pytest

from enclave.cli import installation
from enclave.cli.main import main


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No ENCLAVE_STATE_DIR, no pointer, and a packaged default that holds nothing."""
    monkeypatch.delenv("ENCLAVE_STATE_DIR", raising=False)
    monkeypatch.delenv("ENCLAVE_INSTANCE", raising=False)
    monkeypatch.delenv("ENCLAVE_PUBLIC_PORT", raising=False)
    monkeypatch.setenv("ENCLAVE_POINTER_FILE", str(tmp_path / "config" / "installation.json"))
    monkeypatch.setattr(installation, "PACKAGED_DEFAULT", str(tmp_path / "var-lib-enclave"))
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    return tmp_path


def test_a_command_with_no_installation_refuses_and_makes_nothing(nowhere, capsys):
    assert main(["egress-usage"]) == 3  # the calm wrong answer "no traffic" is gone
    err = capsys.readouterr().err
    assert "There is no enclave installation at" in err and "'enclave init'" in err and "ENCLAVE_STATE_DIR" in err
    assert not (nowhere / "var-lib-enclave").exists()
    assert not (nowhere / "config").exists()


def test_init_points_later_commands_at_what_it_made_and_each_says_which_it_used(nowhere, monkeypatch, capsys):
    state = nowhere / "site"
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(state))
    monkeypatch.setenv("ENCLAVE_INSTANCE", "site-a")
    monkeypatch.setenv("ENCLAVE_PUBLIC_PORT", "8443")
    assert main(["init"]) == 0
    assert f"ready at {state}" in capsys.readouterr().out
    pointer = json.loads((nowhere / "config" / "installation.json").read_text())
    assert pointer == {
        "state_dir": str(state),
        "instance": "site-a",
        "public_port": 8443,
        "require_second_factor": "false",
        "allow_unencrypted_state": "true",
    }  # the test run's installations relax both

    for name in ("ENCLAVE_STATE_DIR", "ENCLAVE_INSTANCE", "ENCLAVE_PUBLIC_PORT", "ENCLAVE_REQUIRE_SECOND_FACTOR"):
        monkeypatch.delenv(name)
    assert main(["project", "create", "alpha"]) == 0
    err = capsys.readouterr().err
    assert f"installation 'site-a' at {state} (from {nowhere / 'config' / 'installation.json'})" in err
    assert main(["project", "list"]) == 0
    assert "alpha" in capsys.readouterr().out  # the same installation, found again


def test_an_explicit_state_folder_wins_over_the_pointer_and_is_named(nowhere, monkeypatch, capsys):
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(nowhere / "first"))
    assert main(["init"]) == 0
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(nowhere / "second"))
    assert main(["project", "list"]) == 3  # named, but nothing there: refused, not made
    assert f"no enclave installation at {nowhere / 'second'} (from ENCLAVE_STATE_DIR)" in capsys.readouterr().err
    assert not (nowhere / "second").exists()


def test_an_unreadable_pointer_is_refused_with_what_to_do(nowhere, capsys):
    (nowhere / "config").mkdir()
    (nowhere / "config" / "installation.json").write_text("{not json")
    assert main(["project", "list"]) == 3
    assert "cannot be read" in capsys.readouterr().err


def test_commands_that_need_no_installation_run_without_one(nowhere, tmp_path, capsys):
    out = tmp_path / "cohort"
    assert main(["cohort", "generate", str(out), "--participants", "20"]) == 0
    assert "installation" not in capsys.readouterr().err
    assert not (nowhere / "var-lib-enclave").exists()


def test_version_and_exit_codes(nowhere, capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("enclave ")
    with pytest.raises(SystemExit) as usage:
        main(["project", "frobnicate"])
    assert usage.value.code == 2  # a wrong command line: argparse's usage error
    assert main(["project", "list"]) == 3  # a refusal: distinguishable from a usage error


def test_an_installation_on_a_database_server_is_found_by_its_state_folder(nowhere, monkeypatch, capsys):
    (nowhere / "site").mkdir()
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(nowhere / "site"))
    assert not installation.exists(nowhere / "site")  # an empty folder is no installation
    monkeypatch.setenv("ENCLAVE_DB_URL", "postgresql+psycopg://enclave@db.internal/enclave")
    assert installation.exists(nowhere / "site")  # its database lives on the server the URL names
