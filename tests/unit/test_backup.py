"""enclave backup / restore on a real state folder: whole, links never followed, nothing half-written."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from enclave import backup
from enclave.airlock.verify import verify_one_log
from enclave.errors import EnclaveError
from enclave.operations import projects
from enclave.settings import EnclaveSettings
from harness.airlock_kit import make_env


@pytest.fixture
def installation(ctx, settings):
    """An installation with audited work, an airlock database, a home with a link out, and a pipe."""
    for name in ("alpha", "beta"):
        projects.create_project(ctx, name, title=f"Study {name}")
    state = settings.state_path
    airlock = state / "airlock"
    airlock.mkdir()
    make_env(airlock, db_url=f"sqlite:///{airlock / 'egress-review.sqlite'}")  # the airlock's real schema
    with sqlite3.connect(airlock / "egress-review.sqlite") as db:
        db.execute("CREATE TABLE marker (state TEXT)")
        db.execute("INSERT INTO marker VALUES ('released')")
    (airlock / "staging").mkdir(exist_ok=True)
    (airlock / "staging" / "ab12").write_bytes(b"a released table\n")
    home = state / "projects" / "alpha" / "homes" / "alice"
    home.mkdir(parents=True)
    (home / "analysis.py").write_text("print('hello')\n")
    os.chmod(home / "analysis.py", 0o640)
    os.symlink("/etc/passwd", home / "passwd-link")  # an analyst's link out of the home: never followed
    os.mkfifo(home / "a-pipe")
    return settings


def test_a_backup_restores_to_the_same_files_links_and_a_log_that_verifies(installation, tmp_path):
    made = backup.back_up(installation, tmp_path / "backup")
    assert made.databases == ["enclave", "airlock", "hub"] and made.skipped == 1  # the pipe
    manifest = json.loads((tmp_path / "backup" / backup.MANIFEST).read_text())
    paths = {entry["path"]: entry for entry in manifest["files"]}
    link = paths["projects/alpha/homes/alice/passwd-link"]
    assert (link["kind"], link["target"]) == ("link", "/etc/passwd")
    copied_link = tmp_path / "backup" / "state" / "projects" / "alpha" / "homes" / "alice" / "passwd-link"
    assert copied_link.is_symlink()  # a link, not /etc/passwd's content
    assert not (tmp_path / "backup.partial").exists()

    restored = tmp_path / "restored"
    backup.restore(tmp_path / "backup", restored)
    home = restored / "projects" / "alpha" / "homes" / "alice"
    assert (home / "analysis.py").read_text() == "print('hello')\n"
    assert (home / "analysis.py").stat().st_mode & 0o777 == 0o640
    assert os.readlink(home / "passwd-link") == "/etc/passwd"
    assert (restored / "airlock" / "staging" / "ab12").read_bytes() == b"a released table\n"
    with sqlite3.connect(restored / "airlock" / "egress-review.sqlite") as db:
        assert db.execute("SELECT state FROM marker").fetchall() == [("released",)]
    assert (restored / "audit" / "anchor").read_bytes() == (installation.state_path / "audit" / "anchor").read_bytes()

    verdict = verify_one_log(EnclaveSettings(state_dir=str(restored), instance="unit"))
    assert verdict.intact, verdict.problems
    assert verdict.enclave_entries >= 2  # both projects' creation, anchored and chained


def test_a_backup_never_overwrites_and_never_goes_into_the_state_folder(installation, tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(EnclaveError, match="already exists"):
        backup.back_up(installation, tmp_path / "taken")
    with pytest.raises(EnclaveError, match="inside the state folder"):
        backup.back_up(installation, installation.state_path / "backups" / "b1")


def test_restore_refuses_a_non_empty_target_and_a_tampered_backup_writing_nothing(installation, tmp_path):
    backup.back_up(installation, tmp_path / "backup")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "enclave.sqlite").write_bytes(b"someone's installation")
    with pytest.raises(EnclaveError, match="not empty"):
        backup.restore(tmp_path / "backup", occupied)
    assert (occupied / "enclave.sqlite").read_bytes() == b"someone's installation"

    (tmp_path / "backup" / "state" / "airlock" / "staging" / "ab12").write_bytes(b"swapped\n")
    with pytest.raises(EnclaveError, match="does not match its manifest.*ab12: its content changed"):
        backup.restore(tmp_path / "backup", tmp_path / "restored")
    assert not (tmp_path / "restored").exists()
    assert not list(tmp_path.glob(".restored*"))


def test_a_folder_without_a_manifest_is_not_a_backup(tmp_path):
    (tmp_path / "half.partial").mkdir()
    with pytest.raises(EnclaveError, match="is not a backup"):
        backup.restore(tmp_path / "half.partial", tmp_path / "restored")


def test_a_database_outside_the_state_folder_is_named_not_skipped(installation, tmp_path):
    elsewhere = EnclaveSettings(
        state_dir=installation.state_dir, instance="unit", database_url=f"sqlite:///{tmp_path / 'other.sqlite'}"
    )
    with pytest.raises(EnclaveError, match="outside the state folder"):
        backup.back_up(elsewhere, tmp_path / "backup")
    postgres = EnclaveSettings(
        state_dir=installation.state_dir, instance="unit", database_url="postgresql+psycopg://u:p@127.0.0.1:1/enclave"
    )
    with pytest.raises(EnclaveError, match="database's own tools"):
        backup.back_up(postgres, tmp_path / "backup")


def test_the_key_totp_secrets_are_sealed_with_travels_with_the_backup(ctx, settings, tmp_path):
    from enclave.atrest.totp_seal import KEY_FILE, TotpSeal
    from enclave.operations import people
    from enclave.state import totp_secrets
    from enclave.state.db import open_state_db
    from tests.support.totp import secret_from_uri

    people.add_user(ctx, "tina", ["analyst"])
    secret = secret_from_uri(people.enable_totp(ctx, "tina"))
    backup.back_up(settings, tmp_path / "backup")
    restored = tmp_path / "restored"
    backup.restore(tmp_path / "backup", restored)
    assert (restored / "hub" / KEY_FILE).stat().st_mode & 0o777 == 0o600
    with open_state_db(f"sqlite:///{restored / 'enclave.sqlite'}").reading() as session:
        sealed = totp_secrets.sealed_secret(session, "tina")
    assert TotpSeal(restored / "hub").open(sealed) == secret  # the restored database's secrets still open
