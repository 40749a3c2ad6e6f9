"""Settings that exist only in swarm mode.

Read from ENCLAVE_SWARM_* variables, which `enclave swarm up` gives the hub
container, or from the hub's configuration (c.SwarmSettings...).
"""

from __future__ import annotations

import os
import socket

from traitlets import Bool, List, Unicode, default
from traitlets.config import Configurable

# Where `enclave swarm up` puts workspaces unless told otherwise: nodes an operator has labelled
# (`docker node update --label-add enclave.workspaces=true NODE`). It labels the node it creates a swarm on.
WORKSPACE_NODE_LABEL = "enclave.workspaces"
DEFAULT_PLACEMENT = f"node.labels.{WORKSPACE_NODE_LABEL}==true"


class SwarmSettings(Configurable):
    hub_container = Unicode(
        help="Name or id of the hub's own container, which joins each workspace's overlay network. "
        "Default: $ENCLAVE_SWARM_HUB_CONTAINER, else this host name (Docker names a container's host "
        "after its id).",
    ).tag(config=True)

    @default("hub_container")
    def _default_hub_container(self) -> str:
        return os.environ.get("ENCLAVE_SWARM_HUB_CONTAINER", "").strip() or socket.gethostname()

    placement = List(
        Unicode(),
        help="Swarm placement constraints of every workspace service. Default: $ENCLAVE_SWARM_PLACEMENT "
        f"(';'-separated) or [{DEFAULT_PLACEMENT!r}]. The nodes chosen must have the images and the "
        "state folder's shared storage at the same path.",
    ).tag(config=True)

    @default("placement")
    def _default_placement(self) -> list[str]:
        configured = os.environ.get("ENCLAVE_SWARM_PLACEMENT", "").strip()
        if not configured:
            return [DEFAULT_PLACEMENT]
        return [c.strip() for c in configured.split(";") if c.strip()]

    encrypted = Bool(
        help="Encrypt workspace overlays between nodes (IPsec, Docker's 'encrypted' network option). "
        "Default: $ENCLAVE_SWARM_ENCRYPTED or true.",
    ).tag(config=True)

    @default("encrypted")
    def _default_encrypted(self) -> bool:
        return os.environ.get("ENCLAVE_SWARM_ENCRYPTED", "true").strip().lower() not in ("0", "false", "no")
