"""What the hub needs on disk before it starts, made by whoever starts it; its configuration only reads it.

`prepare_hub` makes the state folder (root only) and the secrets the hub, its
proxy and the operator tools share. `enclave.runtime` calls it before it
starts the hub (the swarm's hub container does the same); the configuration
(config.py) reads them with `read_hub_secrets` and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import EnclaveError
from ..settings import EnclaveSettings
from .secrets import OPERATOR_TOKEN, PROXY_TOKEN, operator_token, proxy_token


@dataclass(frozen=True)
class HubSecrets:
    proxy_token: str  # between the hub and its proxy
    operator_token: str  # the API token of the hub service 'enclave-operator' (the CLI)


def prepare_hub(settings: EnclaveSettings) -> HubSecrets:
    """Make the state folder and the hub's secrets if missing (mode 0700 and 0600); return the secrets."""
    settings.prepare_state_dir()
    return HubSecrets(proxy_token=proxy_token(settings.hub_dir), operator_token=operator_token(settings.hub_dir))


def read_hub_secrets(hub_dir: Path) -> HubSecrets:
    """The secrets prepare_hub made; refuses, saying how to start the hub, when they are missing."""
    try:
        return HubSecrets(
            proxy_token=(hub_dir / PROXY_TOKEN).read_text().strip(),
            operator_token=(hub_dir / OPERATOR_TOKEN).read_text().strip(),
        )
    except FileNotFoundError as missing:
        raise EnclaveError(
            f"{missing.filename} is missing: start the hub with 'enclave up' (make up), "
            "which prepares its folder and secrets first."
        ) from None
