"""The encrypted state volume's layout and refusals, before anything is formatted or mounted (the volume itself,
on a real loop device, is tests/integration/test_encrypted_state.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from enclave.atrest import volume
from enclave.atrest.fscrypt import Encryption, encryption_of
from enclave.cli.main import main
from enclave.errors import EnclaveError
from enclave.settings import EnclaveSettings


def _never(argv):  # no tool may run: every case here is refused first
    raise AssertionError(f"ran {argv}")


def test_the_volume_sits_beside_the_state_folder_and_is_found_again_through_its_link():
    made = volume.volume_of(Path("/var/lib/enclave"))
    assert made.backing == Path("/var/lib/enclave.volume.img")
    assert made.state == Path("/var/lib/enclave.volume/encrypted/state")
    assert volume.volume_of(made.state) == made  # the settings resolve the link to the folder inside


@pytest.mark.parametrize(
    ("size", "prepare", "key", "refusal"),
    [
        ("20 gigabytes", None, "keys/state.key", "is not a size"),
        ("64M", "full", "keys/state.key", "exists and is not empty"),
        ("64M", None, "state.volume/state.key", "would be on the volume it unlocks"),
        ("64M", "key", "keys/state.key", "exists already"),
    ],
)
def test_create_refuses_with_what_to_do(tmp_path, size, prepare, key, refusal):
    settings = EnclaveSettings(state_dir=str(tmp_path / "state"))
    if prepare == "full":
        (tmp_path / "state").mkdir()
        (tmp_path / "state" / "enclave.sqlite").write_bytes(b"")
    if prepare == "key":
        (tmp_path / "keys").mkdir()
        (tmp_path / "keys" / "state.key").write_bytes(b"k" * 32)
    with pytest.raises(EnclaveError, match=refusal):
        volume.create(settings, size, tmp_path / key, run=_never)
    assert not (tmp_path / "state.volume.img").exists()


def test_a_plain_state_folder_is_refused_unless_a_demo(tmp_path, capsys, monkeypatch):
    settings = EnclaveSettings(state_dir=str(tmp_path / "state"), allow_unencrypted_state=False)
    settings.prepare_state_dir()
    assert encryption_of(settings.state_path) is Encryption.NONE
    with pytest.raises(volume.StateNotEncrypted, match="ENCLAVE_ALLOW_UNENCRYPTED_STATE=true"):
        volume.require_encrypted_state(settings)
    settings.allow_unencrypted_state = True
    volume.require_encrypted_state(settings)

    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(tmp_path / "state"))
    assert main(["volume", "status"]) == 0
    assert f"The state folder {tmp_path / 'state'} is on no volume of the enclave's: not encrypted." in (
        capsys.readouterr().out
    )


def test_unlock_without_a_volume_says_how_to_make_one(tmp_path):
    settings = EnclaveSettings(state_dir=str(tmp_path / "state"))
    with pytest.raises(EnclaveError, match="enclave volume create --size SIZE --key FILE"):
        volume.unlock(settings, tmp_path / "state.key", run=_never)
