"""`enclave backup DIR` and `enclave restore DIR` (enclave/backup.py does the work)."""

from __future__ import annotations

from pathlib import Path

from .. import backup
from ..settings import EnclaveSettings
from . import installation

KEYS_NOTE = (
    "It holds the installation's keys (the pseudonymisation key among them): keep it as you keep the "
    "state folder, root-only on an encrypted volume."
)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _backup(args):
    settings = EnclaveSettings()
    done = backup.back_up(settings, Path(args.folder))
    print(
        f"Backed up installation '{settings.instance}' to {done.folder}: {done.files} files "
        f"({_size(done.bytes)}), {done.links} links, databases {', '.join(done.databases)}"
        + (f"; {done.skipped} sockets or pipes left out" if done.skipped else "")
        + "."
    )
    print(KEYS_NOTE)


def _restore(args):
    settings = EnclaveSettings()
    done = backup.restore(Path(args.folder), settings.state_path)
    pointer = installation.record(settings)
    print(
        f"Restored {done.files} files ({_size(done.bytes)}) and databases {', '.join(done.databases)} into "
        f"{done.folder}; later commands of this account use it (recorded in {pointer}). Start it with "
        "'enclave up', then run 'enclave audit verify'."
    )


def register_backup(groups):
    p = groups.add_parser("backup", help="copy the whole installation into a new folder while it runs")
    p.add_argument("folder", help="a folder that does not exist yet (outside the state folder)")
    p.set_defaults(func=_backup)
    p = groups.add_parser(
        "restore",
        help="put a backup in place as a fresh installation's state folder "
        "($ENCLAVE_STATE_DIR, which must be absent or empty)",
    )
    p.add_argument("folder", help="the backup's folder (made by 'enclave backup')")
    p.set_defaults(func=_restore, installation=installation.CREATE)


REGISTRARS = [register_backup]
