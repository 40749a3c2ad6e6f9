"""Secrets the hub and the operator tools share, kept in the hub's folder (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def read_or_create(path: Path, nbytes: int = 32) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        value = secrets.token_hex(nbytes)
        f.write(value)
    return value


def operator_token(hub_dir: Path) -> str:
    """The API token of the hub service 'enclave-operator', used by the CLI to stop workspaces."""
    return read_or_create(hub_dir / "operator-api-token")


def proxy_token(hub_dir: Path) -> str:
    return read_or_create(hub_dir / "proxy-auth-token")
