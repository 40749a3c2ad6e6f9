"""`enclave volume create|unlock|lock|status`: the encrypted volume the state folder lives on (enclave/atrest)."""

from __future__ import annotations

from pathlib import Path

from ..atrest import volume
from ..settings import EnclaveSettings
from . import installation


def _create(args) -> int:
    settings = EnclaveSettings()
    made = volume.create(settings, args.size, Path(args.key))
    print(
        f"Made an encrypted volume of {args.size} at {made.backing}, mounted at {made.mount}; the state folder "
        f"{settings.state_path} now leads into its encrypted folder {made.encrypted}."
    )
    print(
        f"Its key is {Path(args.key).absolute()}: without it the state cannot be read, by anyone. Keep a copy "
        "offline (a safe, a second operator's keeping), and after every reboot run "
        f"'enclave volume unlock --key {args.key}' before 'enclave up'."
    )
    return 0


def _unlock(args) -> int:
    settings = EnclaveSettings()
    unlocked = volume.unlock(settings, Path(args.key))
    print(f"The volume {unlocked.backing} is mounted at {unlocked.mount} and its encrypted folder unlocked.")
    return 0


def _lock(args) -> int:
    settings = EnclaveSettings()
    locked = volume.lock(settings)
    print(f"Locked {locked.encrypted} and unmounted {locked.mount}; 'enclave volume unlock --key FILE' opens it.")
    return 0


def _status(args) -> int:
    print(volume.describe(EnclaveSettings()))
    return 0


def register_volume(groups) -> None:
    p = groups.add_parser("volume", help="the encrypted volume the state folder lives on")
    sub = p.add_subparsers(dest="action", required=True)
    create = sub.add_parser(
        "create", help="make an encrypted volume for a new (absent or empty) state folder, and a new key for it"
    )
    create.add_argument("--size", required=True, help="the volume's size, e.g. 20G (a file of that size is made)")
    create.add_argument("--key", required=True, help="a new file for its key, outside the state folder (0600)")
    unlock = sub.add_parser("unlock", help="mount the volume and unlock it with its key (after every reboot)")
    unlock.add_argument("--key", required=True, help="the key file 'volume create' wrote")
    sub.add_parser("lock", help="lock and unmount the volume (stop the enclave first)")
    sub.add_parser("status", help="say where the state folder is and whether it is encrypted and unlocked")
    # The installation need not be reachable: it is not there until the volume is made, or unlocked.
    for action, func in (("create", _create), ("unlock", _unlock), ("lock", _lock), ("status", _status)):
        sub.choices[action].set_defaults(func=func, installation=installation.CREATE)


REGISTRARS = [register_volume]
