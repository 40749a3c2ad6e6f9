"""Secrets the hub and the operator tools share, kept in the hub's folder (0700; files 0600)."""

from __future__ import annotations

import secrets
from pathlib import Path

from ..secret_files import read_or_create

OPERATOR_TOKEN = "operator-api-token"  # file names in the hub's folder
PROXY_TOKEN = "proxy-auth-token"


def _token(path: Path, nbytes: int = 32) -> str:
    return read_or_create(path, lambda: secrets.token_hex(nbytes).encode()).decode().strip()


def operator_token(hub_dir: Path) -> str:
    """The API token of the hub service 'enclave-operator', used by the CLI to stop workspaces."""
    return _token(hub_dir / OPERATOR_TOKEN)


def proxy_token(hub_dir: Path) -> str:
    return _token(hub_dir / PROXY_TOKEN)
