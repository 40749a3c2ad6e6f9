"""The state folder at rest: an installation of its own on a real encrypted volume (a small file-backed ext4 with
native encryption, loop-mounted, an fscrypt policy unlocked with a raw key), made by `enclave volume create`'s
code. It starts there, a workspace writes to its home through the bind mount from the encrypted folder, and once
stopped and locked the folder's names and contents are unreadable; a plain folder is refused unless the
installation says it is a demo, and a locked volume is refused until unlocked. Needs root, mount and a loop device
(the machines this project runs on have them)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from enclave import runtime
from enclave.atrest import volume
from enclave.atrest.fscrypt import Encryption, encryption_of
from enclave.cli.main import main
from enclave.operations import people, projects
from harness.enclave import build_enclave, cleanup_instance, make_settings, start_hub, stop_hub
from tests.support.workspaces import Workspace

MARK = "written-inside-the-workspace-7f3c"


@pytest.fixture
def encrypted_settings(tmp_path):
    if os.geteuid() != 0 or shutil.which("losetup") is None:  # the machines this project runs on have both
        pytest.fail("An encrypted volume needs root and loop devices (losetup).", pytrace=False)
    subprocess.run(["bash", str(volume.ENSURE_SCRIPT)], check=True)
    settings = make_settings(tmp_path, prefix="enctest-atrest")
    settings.allow_unencrypted_state = False
    key = tmp_path / "keys" / "state.key"
    made = volume.create(settings, "96M", key)
    settings.state_dir = settings.state_dir  # resolved again: through the link into the volume
    try:
        yield settings, key
    finally:
        if os.path.ismount(made.mount):
            subprocess.run(["umount", "--lazy", str(made.mount)], check=False)
        made.backing.unlink(missing_ok=True)


def test_an_installation_starts_on_an_encrypted_state_folder_and_locked_it_is_unreadable(
    encrypted_settings, docker_client, workspace_image, tmp_path, monkeypatch, capsys
):
    settings, key = encrypted_settings
    assert settings.state_path == volume.volume_of(settings.state_path).state
    assert encryption_of(settings.state_path) is Encryption.UNLOCKED
    enclave = build_enclave(tmp_path, settings)
    projects.create_project(enclave.ctx, "alpha")
    enclave.passwords["alice"] = people.add_user(enclave.ctx, "alice", ["analyst"]).initial_password
    people.add_member(enclave.ctx, "alpha", "alice")
    try:
        start_hub(enclave)
        workspace = Workspace(enclave, "alice", "alpha")
        workspace.run(f"import os; open(os.path.expanduser('~/result.txt'), 'w').write({MARK!r})")
        workspace.close()
    finally:
        stop_hub(enclave)
        cleanup_instance(settings.instance)
        enclave.ctx.db.engine.dispose()

    home_file = settings.projects_dir / "alpha" / "homes" / "alice" / "result.txt"
    assert home_file.read_text() == MARK  # through the bind mount, onto the encrypted folder
    assert encryption_of(home_file.parent) is Encryption.UNLOCKED
    database = settings.state_path / "enclave.sqlite"
    assert database.exists()

    mounted = volume.volume_of(settings.state_path)
    subprocess.run(["fscrypt", "lock", str(mounted.encrypted), "--quiet"], check=True)
    names = [p.name for p in mounted.encrypted.rglob("*")]
    assert names and not {"state", "projects", "alpha", "homes", "alice", "result.txt", "enclave.sqlite"} & set(names)
    assert not database.exists() and not home_file.exists()
    for scrambled in mounted.encrypted.rglob("*"):
        if scrambled.is_file():
            with pytest.raises(OSError):  # ENOKEY: contents without the key
                scrambled.read_bytes()
    raw = mounted.backing.read_bytes()
    assert MARK.encode() not in raw and b"SQLite format 3" not in raw  # the disk holds ciphertext only

    with pytest.raises(volume.StateNotEncrypted, match="locked.*enclave volume unlock --key"):
        runtime.start(settings)
    volume.lock(settings)  # unmounted too
    with pytest.raises(volume.StateNotEncrypted, match="not there.*enclave volume unlock --key"):
        runtime.start(settings)
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(tmp_path / "state"))  # the link the operator names, as after a reboot
    monkeypatch.setenv("ENCLAVE_ALLOW_UNENCRYPTED_STATE", "false")
    assert main(["up"]) == 3
    assert "which is not mounted or not unlocked (as after a reboot): run 'enclave volume unlock" in (
        capsys.readouterr().err
    )
    volume.unlock(settings, key)
    assert home_file.read_text() == MARK
    volume.require_encrypted_state(settings)


def test_a_plain_state_folder_is_refused_unless_the_installation_is_a_demo(tmp_path):
    settings = make_settings(tmp_path, prefix="enctest-plain")
    settings.allow_unencrypted_state = False
    settings.prepare_state_dir()
    with pytest.raises(volume.StateNotEncrypted, match="not encrypted at rest.*enclave volume create --size"):
        runtime.start(settings)
    assert not any(settings.hub_dir.iterdir())  # refused before anything was made or started
    assert all(pid is None for pid in runtime.status(settings).values())

    settings.allow_unencrypted_state = True  # a demo: what every other test's installation is
    volume.require_encrypted_state(settings)


def test_a_folder_of_the_state_linked_off_the_volume_is_refused(encrypted_settings, tmp_path):
    settings, _ = encrypted_settings
    volume.require_encrypted_state(settings)
    plain = tmp_path / "plain-datasets"
    plain.mkdir()
    (settings.state_path / "datasets").symlink_to(plain)
    with pytest.raises(volume.StateNotEncrypted, match="datasets is not encrypted at rest"):
        volume.require_encrypted_state(settings)
