"""The installation's pseudonym key: 32 random bytes, created once, readable by its owner only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ..errors import InvalidState

KEY_FILE = "pseudonym.key"
KEY_BYTES = 32


def pseudonym_key(hub_dir: Path) -> bytes:
    """Read the key, creating it (mode 0600, never overwritten) on first use."""
    path = Path(hub_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise InvalidState(f"{path} does not hold a {KEY_BYTES}-byte key. Restore it from the backup; "
                           "without it existing pseudonyms cannot be traced.")
    return key
