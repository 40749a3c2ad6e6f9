"""The state folder on an encrypted volume, and the refusal to start on a state folder that is not encrypted.

These machines' kernels have no device-mapper (no LUKS), but ext4's native encryption works: a file-backed
ext4 filesystem made with `-O encrypt`, loop-mounted, and an fscrypt policy (AES-256-XTS contents,
AES-256-CTS names) on one folder of it, unlocked with a raw 32-byte key the operator keeps outside the
state folder. For a state folder S (by default /var/lib/enclave):

    S.volume.img                      the backing file
    S.volume/                         where it is mounted
    S.volume/encrypted/               the encrypted folder (fscrypt); backups may go here too
    S.volume/encrypted/state/         the state folder itself
    S -> S.volume/encrypted/state     a link, so the settings and every tool still name S

The state folder's siblings (a restore's temporary folder, a backup written beside it) are inside the
encrypted folder too. After a reboot the volume is neither mounted nor unlocked: `enclave volume unlock
--key FILE` does both. The kernel says whether a folder is encrypted and unlocked (fscrypt.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import EnclaveError, InvalidInput, InvalidState
from ..settings import EnclaveSettings
from .fscrypt import Encryption, encryption_of

KEY_BYTES = 32  # fscrypt's raw_key protector takes exactly 32 bytes
PROTECTOR_NAME = "enclave-state"
ENSURE_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure-fscrypt.sh"
_SIZE_RE = re.compile(r"^[1-9][0-9]*[KMGT]?$")


class StateNotEncrypted(EnclaveError):
    """The state folder is not on an encrypted volume, or its volume is locked; the enclave does not start."""


@dataclass(frozen=True)
class Volume:
    mount: Path  # where the backing file is mounted

    @property
    def backing(self) -> Path:
        return self.mount.with_name(f"{self.mount.name}.img")

    @property
    def encrypted(self) -> Path:
        return self.mount / "encrypted"

    @property
    def state(self) -> Path:
        return self.encrypted / "state"


def volume_of(state_dir: Path) -> Volume:
    """The volume a state folder is (or would be) on: found from the folder the link points to, or made up
    beside the folder's own name."""
    state_dir = Path(state_dir)
    mount = state_dir.parent.parent
    if state_dir.name == "state" and state_dir.parent.name == "encrypted" and mount.name.endswith(".volume"):
        return Volume(mount)
    return Volume(state_dir.with_name(f"{state_dir.name}.volume"))


Run = Callable[[list[str]], None]


def run_tool(argv: list[str]) -> None:
    """Run one of the tools (mkfs.ext4, mount, fscrypt); a failure is refused with its output."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InvalidState(f"'{' '.join(argv)}' failed: {(result.stderr or result.stdout).strip()}")


def create(settings: EnclaveSettings, size: str, key_file: Path, run: Run = run_tool) -> Volume:
    """Make the encrypted volume for a new state folder; writes a new key to `key_file` (0600)."""
    state_dir, key_file = settings.state_path, Path(key_file).absolute()
    volume = volume_of(state_dir)
    if not _SIZE_RE.match(size):
        raise InvalidInput(f"Size {size!r} is not a size: give a number with K, M, G or T, e.g. 20G.")
    if os.geteuid() != 0:
        raise InvalidState("Making a volume needs root (it formats and mounts a filesystem): run it as root.")
    if state_dir.is_symlink() or (state_dir.exists() and any(state_dir.iterdir())):
        raise InvalidState(
            f"The state folder {state_dir} exists and is not empty. Back it up ('enclave backup DIR'), move it "
            "aside, run 'enclave volume create' again, then restore into it ('enclave restore DIR')."
        )
    for made in (volume.backing, volume.mount):
        if made.exists() and not (made.is_dir() and not any(made.iterdir())):
            raise InvalidState(f"{made} exists already: is there a volume there? See 'enclave volume status'.")
    if key_file.exists():
        raise InvalidState(f"The key file {key_file} exists already; name a new file: this makes a new key.")
    if volume.mount in key_file.parents or state_dir in key_file.parents:
        raise InvalidInput(
            f"The key file {key_file} would be on the volume it unlocks: keep it elsewhere (a root-only folder on "
            "another disk, or offline), since the volume cannot be unlocked without it."
        )
    _ensure_tools()
    _write_key(key_file)
    run(["truncate", "-s", size, str(volume.backing)])
    volume.backing.chmod(0o600)
    try:
        run(["mkfs.ext4", "-q", "-O", "encrypt", str(volume.backing)])
        volume.mount.mkdir(mode=0o700, exist_ok=True)
        run(["mount", "-o", "loop", str(volume.backing), str(volume.mount)])
        if not Path("/etc/fscrypt.conf").exists():
            run(["fscrypt", "setup", "--quiet", "--force"])
        run(["fscrypt", "setup", str(volume.mount), "--quiet", "--force"])
        volume.encrypted.mkdir(mode=0o700)
        run(
            [
                "fscrypt",
                "encrypt",
                str(volume.encrypted),
                "--source=raw_key",
                f"--key={key_file}",
                f"--name={PROTECTOR_NAME}",
                "--no-recovery",
                "--quiet",
            ]
        )
        volume.state.mkdir(mode=0o700)
        if state_dir.exists():
            state_dir.rmdir()  # empty, checked above
        state_dir.parent.mkdir(parents=True, exist_ok=True)
        state_dir.symlink_to(volume.state)
    except BaseException:
        _undo(volume, key_file)
        raise
    return volume


def unlock(settings: EnclaveSettings, key_file: Path, run: Run = run_tool) -> Volume:
    """Mount the volume if it is not (after a reboot) and unlock its encrypted folder with the key."""
    volume = volume_of(settings.state_path)
    if not volume.backing.exists():
        raise InvalidState(
            f"There is no volume at {volume.backing} for the state folder {settings.state_path}: "
            "make one with 'enclave volume create --size SIZE --key FILE'."
        )
    if not Path(key_file).is_file():
        raise InvalidInput(f"The key file {key_file} is not there: give the file 'enclave volume create' wrote.")
    _ensure_tools()
    if not Path("/etc/fscrypt.conf").exists():  # a reinstalled host: fscrypt's own settings, not the volume's
        run(["fscrypt", "setup", "--quiet", "--force"])
    if not os.path.ismount(volume.mount):
        volume.mount.mkdir(mode=0o700, exist_ok=True)
        run(["mount", "-o", "loop", str(volume.backing), str(volume.mount)])
    if encryption_of(volume.encrypted) is not Encryption.UNLOCKED:
        run(["fscrypt", "unlock", str(volume.encrypted), f"--key={Path(key_file).absolute()}", "--quiet"])
    return volume


def lock(settings: EnclaveSettings, run: Run = run_tool) -> Volume:
    """Lock the encrypted folder (its names and contents scrambled, the key dropped) and unmount the volume.

    Stop the enclave and its workspaces first: a file still open keeps the folder from locking whole."""
    volume = volume_of(settings.state_path)
    if not os.path.ismount(volume.mount):
        raise InvalidState(f"The volume {volume.backing} is not mounted: it is locked already.")
    if encryption_of(volume.encrypted) is Encryption.UNLOCKED:
        run(["fscrypt", "lock", str(volume.encrypted), "--quiet"])
    run(["umount", str(volume.mount)])
    return volume


def describe(settings: EnclaveSettings) -> str:
    """Where the state folder is and whether it is encrypted and unlocked, in a sentence."""
    folder = settings.state_path
    volume = volume_of(folder)
    if volume.backing.exists():
        mounted = "mounted" if os.path.ismount(volume.mount) else "not mounted"
        where = f"on the volume {volume.backing} ({mounted} at {volume.mount})"
    else:
        where = "on no volume of the enclave's"
    state = encryption_of(folder).value if folder.is_dir() else "not there"
    return f"The state folder {folder} is {where}: {state}."


def unlock_hint(state_dir: Path) -> str | None:
    """What to say when a state folder is missing because its volume is not mounted or unlocked (a reboot)."""
    folder = Path(state_dir).resolve()
    volume = volume_of(folder)
    if folder.is_dir() or not volume.backing.exists():
        return None
    return (
        f"The state folder {state_dir} is on the encrypted volume {volume.backing}, which is not mounted or not "
        "unlocked (as after a reboot): run 'enclave volume unlock --key FILE' first."
    )


def require_encrypted_state(settings: EnclaveSettings) -> None:
    """Refuse to start on a state folder (or a folder of it) that is not encrypted and unlocked, unless a demo."""
    if settings.allow_unencrypted_state:
        return
    folder = settings.state_path
    demo = "(Only a demo may run on a plain folder: ENCLAVE_ALLOW_UNENCRYPTED_STATE=true.)"
    encrypted = volume_of(folder).encrypted
    if not folder.is_dir() and encrypted.is_dir() and encryption_of(encrypted) is Encryption.LOCKED:
        raise StateNotEncrypted(
            f"The state folder {folder} is on an encrypted volume that is locked (its names are scrambled): unlock "
            "it with 'enclave volume unlock --key FILE', then start again."
        )
    if not folder.is_dir():
        raise StateNotEncrypted(
            f"The state folder {folder} is not there. If it is on an encrypted volume (after a reboot), unlock it: "
            f"'enclave volume unlock --key FILE'. {demo}"
        )
    # The state folder and each folder in it: one linked or mounted elsewhere would leave the volume.
    for checked in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
        state = encryption_of(checked)
        if state is Encryption.NONE:
            raise StateNotEncrypted(
                f"{checked} is not encrypted at rest, and this enclave keeps its state on an encrypted volume. "
                "Make one and move the state onto it: 'enclave backup DIR', then 'enclave volume create --size "
                f"SIZE --key FILE' and 'enclave restore DIR' (docs/operators.md, 'Encryption at rest'). {demo}"
            )
        if state is Encryption.LOCKED:
            raise StateNotEncrypted(
                f"{checked} is encrypted but locked (its key is not loaded, as after a reboot): unlock it with "
                "'enclave volume unlock --key FILE', then start again."
            )


def _write_key(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(os.urandom(KEY_BYTES))
        handle.flush()
        os.fsync(handle.fileno())


def _ensure_tools() -> None:
    if shutil.which("fscrypt") and shutil.which("mkfs.ext4"):
        return
    if ENSURE_SCRIPT.exists():
        subprocess.run(["bash", str(ENSURE_SCRIPT)], check=False)
    if not (shutil.which("fscrypt") and shutil.which("mkfs.ext4")):
        raise InvalidState("fscrypt and mkfs.ext4 are needed: install them ('apt-get install fscrypt e2fsprogs').")


def _undo(volume: Volume, key_file: Path) -> None:
    """A volume that failed half-way is taken apart again, and its key (which unlocks nothing now) removed."""
    if os.path.ismount(volume.mount):
        subprocess.run(["umount", str(volume.mount)], capture_output=True, check=False)
    if volume.mount.is_dir() and not any(volume.mount.iterdir()):
        volume.mount.rmdir()
    volume.backing.unlink(missing_ok=True)
    key_file.unlink(missing_ok=True)
