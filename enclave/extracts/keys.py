"""The installation's pseudonym key: 32 random bytes, created once, readable by its owner only."""

from __future__ import annotations

import secrets
from pathlib import Path

from ..errors import InvalidState
from ..secret_files import read_or_create

KEY_FILE = "pseudonym.key"
KEY_BYTES = 32


def pseudonym_key(hub_dir: Path) -> bytes:
    """Read the key, creating it (mode 0600, never overwritten) on first use."""
    path = Path(hub_dir) / KEY_FILE
    key = read_or_create(path, lambda: secrets.token_bytes(KEY_BYTES))
    if len(key) != KEY_BYTES:
        raise InvalidState(
            f"{path} does not hold a {KEY_BYTES}-byte key. Restore it from the backup; "
            "without it existing pseudonyms cannot be traced."
        )
    return key
