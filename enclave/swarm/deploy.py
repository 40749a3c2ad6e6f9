"""`enclave swarm up|down`: a single-node swarm if there is none, the hub's container on a manager.

The hub runs as a standalone container, not a swarm service: it must join
each workspace's overlay at the moment the workspace is spawned, and a
container can join an attachable network while it runs, where a service
would be restarted to gain a network. It runs on this (manager) node with
the Docker socket, the state folder at the same path as on the node (bind
mounts of workspaces name paths on the nodes), and NET_ADMIN for its own
firewall (hub_firewall.py).

A swarm this command created is recorded in <state_dir>/hub/swarm.json, and
only such a swarm is left by `down`. The engine's live-restore, which swarm
mode refuses, is turned off (a reload, no restart) before the swarm is
created, and on again by `down` after leaving it (enclave/engine/).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound
from docker.errors import NotFound as DockerNotFound

from ..atrest.volume import require_encrypted_state
from ..engine import daemon_config
from ..errors import InvalidState
from ..images.catalog import image_tag
from ..settings import EnclaveSettings
from . import networks
from .settings import WORKSPACE_NODE_LABEL, SwarmSettings

DOCKER_SOCKET = "/var/run/docker.sock"
GWBRIDGE = "docker_gwbridge"
LIVE_RESTORE_BACK = "the pause of live-restore (on again)"


@dataclass(frozen=True)
class HubDeployment:
    url: str
    container: str
    created_swarm: bool  # by this installation: `down` leaves it
    node_id: str
    paused_live_restore: bool = False  # now, for this swarm: `down` turns it on again


def _exists(client: docker.DockerClient, network: str) -> bool:
    try:
        client.networks.get(network)
        return True
    except DockerNotFound:
        return False


def hub_container_name(instance: str) -> str:
    return f"{instance}-hub"


def hub_network_name(instance: str) -> str:
    return f"{instance}-hubnet"


def record_path(settings: EnclaveSettings) -> Path:
    return settings.hub_dir / "swarm.json"


def public_url(settings: EnclaveSettings, publish_ip: str) -> str:
    host = "127.0.0.1" if publish_ip in ("0.0.0.0", "") else publish_ip
    return f"https://{host}:{settings.public_port}"  # the edge's


def hub_environment(settings: EnclaveSettings, swarm: SwarmSettings, container: str) -> dict[str, str]:
    """The hub container's settings: the installation's, with swarm mode on."""
    env = {
        "ENCLAVE_STATE_DIR": settings.state_dir,
        "ENCLAVE_INSTANCE": settings.instance,
        "ENCLAVE_DB_URL": settings.database_url,
        "ENCLAVE_PUBLIC_IP": "0.0.0.0",  # inside the container; the engine publishes it on publish_ip
        "ENCLAVE_PUBLIC_PORT": str(settings.public_port),
        "ENCLAVE_HUB_PORT": str(settings.hub_port),
        "ENCLAVE_HUB_INTERNAL_PORT": str(settings.hub_internal_port),
        "ENCLAVE_PROXY_API_PORT": str(settings.proxy_api_port),
        "ENCLAVE_EGRESS_PORT": str(settings.egress_port),
        "ENCLAVE_SPAWNER": "enclave-swarm",
        "ENCLAVE_SWARM_HUB_CONTAINER": container,
        "ENCLAVE_SWARM_PLACEMENT": ";".join(swarm.placement),
        "ENCLAVE_SWARM_ENCRYPTED": "true" if swarm.encrypted else "false",
        "ENCLAVE_PROXY_PORT": str(settings.proxy_port),
        # The hub container's authenticator asks for a second factor exactly when the installation does.
        "ENCLAVE_REQUIRE_SECOND_FACTOR": "true" if settings.require_second_factor else "false",
    }
    if os.environ.get("ENCLAVE_BASE_IMAGE"):  # the operator's base image: part of every image's tag
        env["ENCLAVE_BASE_IMAGE"] = os.environ["ENCLAVE_BASE_IMAGE"]
    return env


def hub_arguments(settings: EnclaveSettings) -> list[str]:
    """Settings that have no environment variable, passed to jupyterhub on its command line."""
    return [
        f"--EnclaveSettings.{name}={getattr(settings, name)}"
        for name in ("workspace_mem_limit", "workspace_cpu_limit", "workspace_pids_limit", "workspace_scratch_size")
    ]


def ensure_swarm(client: docker.DockerClient, advertise_addr: str) -> tuple[bool, str]:
    """(created, node id): join nothing, create a single-node swarm only if this engine is in none.
    Live-restore must be off for that (daemon_config.set_live_restore)."""
    state = client.info().get("Swarm") or {}
    local = state.get("LocalNodeState", "inactive")
    if local == "active":
        if not state.get("ControlAvailable"):
            raise InvalidState("This engine is a swarm worker; run 'enclave swarm up' on a manager node.")
        return False, state["NodeID"]
    if local != "inactive":
        raise InvalidState(f"This engine's swarm is {local!r}; fix it ('docker info') before 'enclave swarm up'.")
    try:
        client.swarm.init(advertise_addr=advertise_addr)
    except APIError as e:
        raise InvalidState(f"Could not create a swarm on this engine: {e.explanation or e}") from None
    node_id = client.info()["Swarm"]["NodeID"]
    node = client.nodes.get(node_id)
    spec = node.attrs["Spec"]
    spec.setdefault("Labels", {})[WORKSPACE_NODE_LABEL] = "true"
    node.update(spec)
    return True, node_id


def _ensure_hub_network(client: docker.DockerClient, instance: str):
    name = hub_network_name(instance)
    try:
        return client.networks.get(name)
    except DockerNotFound:
        return client.networks.create(
            name,
            driver="bridge",
            check_duplicate=True,
            labels={"enclave.instance": instance, "enclave.kind": "hub-network"},
        )


def swarm_up(
    settings: EnclaveSettings,
    swarm: SwarmSettings | None = None,
    publish_ip: str = "0.0.0.0",
    advertise_addr: str = "127.0.0.1",
) -> HubDeployment:
    require_encrypted_state(settings)  # as 'enclave up' does: the hub container runs on the same state folder
    swarm = swarm or SwarmSettings()
    client = docker.from_env()
    image = image_tag("hub")
    try:
        client.images.get(image)
    except ImageNotFound:
        raise InvalidState(f"The hub image {image} is not built: run 'enclave images build --kind hub'.") from None
    settings.prepare_state_dir()
    record = record_path(settings)
    earlier = json.loads(record.read_text()) if record.exists() else {}
    had_gwbridge = _exists(client, GWBRIDGE)
    swarm_state = (client.info().get("Swarm") or {}).get("LocalNodeState", "inactive")
    # `docker swarm init` refuses while live-restore is on: a reload turns it off, workspaces keep running.
    paused = swarm_state == "inactive" and daemon_config.set_live_restore(False)
    try:
        created, node_id = ensure_swarm(client, advertise_addr)
    except InvalidState:
        if paused:
            daemon_config.set_live_restore(True)  # no swarm after all: as it was
        raise
    record.write_text(
        json.dumps(
            {
                "created_swarm": created or earlier.get("created_swarm", False),  # now or at an earlier `up`
                # The engine makes this bridge for a swarm and keeps it after leaving; remove it then if ours.
                "created_gwbridge": (created and not had_gwbridge) or earlier.get("created_gwbridge", False),
                "paused_live_restore": paused or earlier.get("paused_live_restore", False),
                "node_id": node_id,
            }
        )
    )
    created = json.loads(record.read_text())["created_swarm"]
    name = hub_container_name(settings.instance)
    try:
        existing = client.containers.get(name)
        if existing.status == "running":
            return HubDeployment(public_url(settings, publish_ip), name, created, node_id, paused)
        existing.remove(force=True)
    except DockerNotFound:
        pass
    network = _ensure_hub_network(client, settings.instance)
    try:
        client.containers.run(
            image,
            hub_arguments(settings),
            name=name,
            detach=True,
            network=network.name,
            environment=hub_environment(settings, swarm, name),
            ports={f"{settings.public_port}/tcp": (publish_ip, settings.public_port)},
            volumes={
                DOCKER_SOCKET: {"bind": DOCKER_SOCKET, "mode": "rw"},
                settings.state_dir: {"bind": settings.state_dir, "mode": "rw"},
            },
            cap_add=["NET_ADMIN"],
            restart_policy={"Name": "unless-stopped"},
            labels={"enclave.instance": settings.instance, "enclave.kind": "hub"},
        )
    except APIError as e:
        raise InvalidState(
            f"The hub container could not start: {e.explanation or e}. If the port "
            f"{settings.public_port} is taken (a hub started with 'make up'?), stop that "
            "first ('make down') and run 'enclave swarm up' again."
        ) from None
    return HubDeployment(public_url(settings, publish_ip), name, created, node_id, paused)


def _remove_services(client: docker.DockerClient, instance: str, timeout: float = 60) -> list[str]:
    services = client.services.list(filters={"label": f"enclave.instance={instance}"})
    for s in services:
        s.remove()
    deadline = time.monotonic() + timeout
    label = {"label": [f"enclave.instance={instance}", "com.docker.swarm.service.id"]}
    while client.containers.list(all=True, filters=label) and time.monotonic() < deadline:
        time.sleep(0.5)
    return [s.name for s in services]


def swarm_down(settings: EnclaveSettings, leave: bool = True) -> list[str]:
    """Remove the hub, its workspaces and networks; leave the swarm only if `up` created it."""
    client = docker.from_env()
    removed = _remove_services(client, settings.instance)
    name = hub_container_name(settings.instance)
    try:
        client.containers.get(name).remove(force=True)
        removed.append(name)
    except DockerNotFound:
        pass
    removed += networks.remove_overlays(client, settings.instance)
    try:
        client.networks.get(hub_network_name(settings.instance)).remove()
        removed.append(hub_network_name(settings.instance))
    except DockerNotFound:
        pass
    record = record_path(settings)
    owned = json.loads(record.read_text()) if record.exists() else {}
    if leave and owned.get("created_swarm"):
        client.swarm.leave(force=True)
        removed.append("the swarm")
        if owned.get("created_gwbridge"):
            try:
                client.networks.get(GWBRIDGE).remove()
                removed.append(GWBRIDGE)
            except (DockerNotFound, APIError):
                pass  # gone already, or something else of this engine uses it now
        if owned.get("paused_live_restore") and daemon_config.set_live_restore(True):
            removed.append(LIVE_RESTORE_BACK)
        record.unlink()
    return removed
