"""One internal, attachable overlay network per (analyst, project) workspace.

Overlay networks have no "inter-container traffic off" option, so the
foundation's rule that workspaces never reach each other, even within one
project, is kept by giving each workspace a network of its own: only that
workspace's service and the hub's container are on it. Internal: no gateway,
so no route off the overlay (not to the node, not beyond). Attachable: the
hub's standalone container can join it at each spawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker
from docker.errors import APIError
from docker.errors import NotFound as DockerNotFound

from ..errors import IsolationError

KIND = "workspace-overlay"
ENCRYPTED_OPTION = "encrypted"


@dataclass(frozen=True)
class WorkspaceOverlay:
    name: str
    hub_address: str  # the hub's address on this overlay: the only place the workspace can reach


def overlay_name(instance: str, project: str, user: str) -> str:
    return f"{instance}-ov-{project}-{user}"


def labels(instance: str, project: str, user: str) -> dict[str, str]:
    return {"enclave.instance": instance, "enclave.kind": KIND, "enclave.project": project, "enclave.user": user}


def isolation_problems(attrs: dict, encrypted: bool) -> list[str]:
    """What makes an existing network unfit to carry one workspace (empty: fit)."""
    problems = []
    if attrs.get("Driver") != "overlay":
        problems.append(f"its driver is {attrs.get('Driver')!r}, not overlay")
    if not attrs.get("Internal"):
        problems.append("it is not internal")
    if not attrs.get("Attachable"):
        problems.append("the hub cannot attach to it")
    if (attrs.get("Labels") or {}).get("enclave.kind") != KIND:
        problems.append("the enclave did not create it for a workspace")
    if encrypted and ENCRYPTED_OPTION not in (attrs.get("Options") or {}):
        problems.append("it is not encrypted")
    return problems


def ensure_overlay(client: docker.DockerClient, instance: str, project: str, user: str, encrypted: bool):
    """Create the workspace's overlay, or check that the existing one is still isolated."""
    name = overlay_name(instance, project, user)
    try:
        net = client.networks.get(name)
    except DockerNotFound:
        options = {ENCRYPTED_OPTION: "true"} if encrypted else {}
        try:
            net = client.networks.create(
                name,
                driver="overlay",
                internal=True,
                attachable=True,
                scope="swarm",
                check_duplicate=True,
                options=options,
                labels=labels(instance, project, user),
            )
        except APIError as e:
            if "already exists" not in str(e):
                raise IsolationError(
                    f"Could not create the workspace network {name}: {e.explanation or e}. "
                    "Is this engine a swarm manager ('enclave swarm up')?"
                ) from None
            net = client.networks.get(name)  # a racing first spawn created it; checked below
    net.reload()
    problems = isolation_problems(net.attrs, encrypted)
    if problems:
        raise IsolationError(
            f"Network {name} exists but is not isolated ({', '.join(problems)}). Refusing to "
            f"start a workspace on it: remove it with 'docker network rm {name}'."
        )
    return net


def attach_hub(client: docker.DockerClient, net, hub_container: str) -> str:
    """Join the hub's container to the overlay (once) and return its address there."""
    try:
        hub = client.containers.get(hub_container)
    except DockerNotFound:
        raise IsolationError(
            f"The hub's container {hub_container!r} was not found on this node; the swarm "
            "spawner runs only inside the hub container ('enclave swarm up')."
        ) from None
    if net.name not in hub.attrs["NetworkSettings"]["Networks"]:
        try:
            net.connect(hub)
        except APIError as e:
            if "already exists" not in str(e):
                raise IsolationError(f"The hub could not join {net.name}: {e.explanation or e}") from None
        hub.reload()
    address = (hub.attrs["NetworkSettings"]["Networks"].get(net.name) or {}).get("IPAddress")
    if not address:
        raise IsolationError(f"The hub has no address on {net.name}; remove the network and start again.")
    return address


def remove_overlays(client: docker.DockerClient, instance: str, hub_container: str | None = None) -> list[str]:
    """Remove an installation's workspace overlays (after their services are gone)."""
    removed = []
    for net in client.networks.list(filters={"label": [f"enclave.instance={instance}", f"enclave.kind={KIND}"]}):
        if hub_container:
            try:
                net.disconnect(hub_container, force=True)
            except APIError:
                pass  # not attached, or the hub is already gone
        try:
            net.remove()
            removed.append(net.name)
        except APIError:
            pass  # still in use by a task being removed; `enclave swarm down` can be run again
    return removed
