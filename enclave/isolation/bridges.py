"""What the project networks and the host firewall agree on: a project bridge's
name (the firewall matches project bridges by its prefix) and the description
of a project network the firewall's rules are written for."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

BRIDGE_PREFIX = "enc-"  # the host firewall matches project bridges by this prefix


@dataclass(frozen=True)
class ProjectNetwork:
    name: str
    bridge: str  # host interface name, matched by the firewall
    gateway: str  # the host's address on this network: where workspaces reach the hub


def bridge_name(network: str) -> str:
    # Interface names are limited to 15 characters; a hash keeps them unique.
    return BRIDGE_PREFIX + hashlib.sha256(network.encode()).hexdigest()[:11]
