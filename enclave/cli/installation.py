"""Which installation a CLI command acts on, found the same way every time and never made by accident.

An operator who ran a command without ENCLAVE_STATE_DIR used to get a new, empty installation under
/var/lib/enclave and a calm, wrong answer ("no traffic"). Now:

1. ENCLAVE_STATE_DIR, when set, names the installation (as `make` and the hub's processes set it);
2. else the pointer file that `enclave init` and `enclave demo seed` (so `make up`) write:
   $ENCLAVE_POINTER_FILE, else ~/.config/enclave/installation.json, holding the state folder, instance
   name, public port and second-factor rule of the installation made last here by this account;
3. else /var/lib/enclave, the packaged default, if an installation is there.

A command that uses an installation refuses when the folder holds none, saying how to make one or how
to name the right one. Only `init` and `demo seed` may make one. Every command says on stderr which
installation it used and how it was found.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..atrest.volume import unlock_hint
from ..errors import EnclaveError

PACKAGED_DEFAULT = "/var/lib/enclave"
MARKER = "installation.json"  # written into the state folder by init and demo seed
STATE_DB = "enclave.sqlite"  # an installation made before the marker existed has this
# What the pointer carries to a later command, as the environment variables the settings read.
POINTED_VARIABLES = {
    "state_dir": "ENCLAVE_STATE_DIR",
    "instance": "ENCLAVE_INSTANCE",
    "public_port": "ENCLAVE_PUBLIC_PORT",
    "require_second_factor": "ENCLAVE_REQUIRE_SECOND_FACTOR",
    "allow_unencrypted_state": "ENCLAVE_ALLOW_UNENCRYPTED_STATE",
}

USE = "use"  # the command acts on an existing installation
CREATE = "create"  # the command may make the installation (and records the pointer)
NONE = "none"  # the command needs no installation (images build, cohort generate)


@dataclass(frozen=True)
class Found:
    state_dir: str
    source: str  # how it was found, for the operator

    def describe(self) -> str:
        instance = os.environ.get("ENCLAVE_INSTANCE", "enclave")
        return f"installation '{instance}' at {self.state_dir} ({self.source})"


def pointer_file() -> Path:
    named = os.environ.get("ENCLAVE_POINTER_FILE", "").strip()
    if named:
        return Path(named)
    config_home = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(config_home) / "enclave" / "installation.json"


def exists(state_dir: str | Path) -> bool:
    """An installation is there: marked, or holding its SQLite database, or (its database named by
    ENCLAVE_DB_URL, on a server) its state folder made."""
    folder = Path(state_dir)
    if (folder / MARKER).is_file() or (folder / STATE_DB).is_file():
        return True
    database = os.environ.get("ENCLAVE_DB_URL", "").strip()
    return bool(database) and not database.startswith("sqlite") and folder.is_dir()


def find(mode: str) -> Found:
    """Settle ENCLAVE_STATE_DIR (and, from a pointer, the instance and port) for this process."""
    named = os.environ.get("ENCLAVE_STATE_DIR", "").strip()
    if named:
        found = Found(named, "from ENCLAVE_STATE_DIR")
    else:
        found = _from_pointer() or Found(PACKAGED_DEFAULT, "the packaged default")
        os.environ["ENCLAVE_STATE_DIR"] = found.state_dir
    if mode == USE and not exists(found.state_dir):
        locked = unlock_hint(Path(found.state_dir))
        if locked:
            raise EnclaveError(locked)
        raise EnclaveError(
            f"There is no enclave installation at {found.state_dir} ({found.source}), and this command does "
            "not make one. Name the installation with ENCLAVE_STATE_DIR=<its state folder>, or make one: "
            "'make up' (the demo) or 'enclave init'."
        )
    return found


def _from_pointer() -> Found | None:
    path = pointer_file()
    try:
        recorded = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise EnclaveError(
            f"The installation pointer {path} cannot be read ({error}). Set ENCLAVE_STATE_DIR, "
            "or run 'enclave init' again to rewrite it."
        ) from None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("state_dir"), str):
        raise EnclaveError(
            f"The installation pointer {path} names no state folder. Set ENCLAVE_STATE_DIR, "
            "or run 'enclave init' again to rewrite it."
        )
    for key, variable in POINTED_VARIABLES.items():
        if key in recorded and variable not in os.environ:
            os.environ[variable] = str(recorded[key])
    return Found(recorded["state_dir"], f"from {path}")


def record(settings) -> Path:
    """Mark the state folder as an installation and point this account's later commands at it."""
    marker = settings.state_path / MARKER
    details = {
        "state_dir": settings.state_dir,
        "instance": settings.instance,
        "public_port": settings.public_port,
        "require_second_factor": "true" if settings.require_second_factor else "false",
        "allow_unencrypted_state": "true" if settings.allow_unencrypted_state else "false",
    }
    _write_atomically(marker, details)
    pointer = pointer_file()
    _write_atomically(pointer, details)
    return pointer


def _write_atomically(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(content, indent=1) + "\n")
    os.replace(partial, path)
