"""A project's package index: one confined container on the project's network, named `packages` there.

It starts with the project's first workspace (the spawner calls `ensure_index`) and keeps running for
the next ones; teardown removes it with the installation's other containers (by its labels), and
`remove_index` with its firewall rules. It runs the `packages` image (pypiserver, images/packages/)
as nobody, read-only, with no capabilities, the workspaces' seccomp profile and resolver, small
limits, and the two published folders mounted read-only. The project network is internal (no route
out, none to other projects' networks), and the host firewall lets workspaces reach only its port and
it reach nothing (isolation/firewall.open_index).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

import docker
from docker.errors import APIError, ImageNotFound
from docker.errors import NotFound as DockerNotFound
from docker.types import EndpointConfig, Mount, Ulimit

from ..confinement.container import DNS_NOWHERE, security_opt
from ..errors import IsolationError, SpawnRefused
from ..images.catalog import image_tag
from ..isolation.bridges import ProjectNetwork
from ..isolation.firewall import forget_index, open_index
from ..settings import EnclaveSettings
from . import folders

INDEX_ALIAS = "packages"  # the name workspaces' pip uses (images/workspace/etc/pip/pip.conf)
INDEX_PORT = 8080
INDEX_UID = "65534:65534"  # nobody: not the workspaces' uid
INDEX_KIND = "package-index"
INDEX_MEMORY = "256m"
INDEX_PIDS_LIMIT = 64


def index_container_name(instance: str, project: str) -> str:
    return f"{instance}-packages-{project}"


def index_spec(settings: EnclaveSettings, project: str, network: str) -> dict:
    """docker-py `containers.run` arguments for the project's index."""
    folder_all, folder_project = folders.ensure_folder(settings, None), folders.ensure_folder(settings, project)
    mounts = [
        Mount(target="/packages/all", source=str(folder_all), type="bind", read_only=True),
        Mount(target="/packages/project", source=str(folder_project), type="bind", read_only=True),
    ]
    return {
        "image": image_tag("packages"),
        "name": index_container_name(settings.instance, project),
        "hostname": INDEX_ALIAS,
        "user": INDEX_UID,
        "labels": {"enclave.instance": settings.instance, "enclave.project": project, "enclave.kind": INDEX_KIND},
        "network": network,
        "networking_config": {network: EndpointConfig(version="1.41", aliases=[INDEX_ALIAS])},
        "environment": {"ENCLAVE_PROJECT": project, "ENCLAVE_INDEX_ROOTS": "/packages/all:/packages/project"},
        "mounts": mounts,
        "read_only": True,
        "tmpfs": {"/tmp": "rw,nosuid,nodev,noexec,size=16m,mode=1777"},
        "cap_drop": ["ALL"],
        "security_opt": security_opt(),
        "privileged": False,
        "init": False,  # one process, which handles Docker's stop signal itself (enclave_index)
        "dns": [DNS_NOWHERE],
        "ipc_mode": "private",
        "pids_limit": INDEX_PIDS_LIMIT,
        "mem_limit": INDEX_MEMORY,
        "memswap_limit": INDEX_MEMORY,
        "nano_cpus": int(0.5e9),
        "ulimits": [Ulimit(name="core", soft=0, hard=0)],
        "restart_policy": {"Name": "no"},  # the next spawn starts it again
    }


def _address(container, network: str) -> str:
    container.reload()
    return (container.attrs["NetworkSettings"]["Networks"].get(network) or {}).get("IPAddress", "")


def _running_index(client: docker.DockerClient, name: str, network: str):
    try:
        container = client.containers.get(name)
    except DockerNotFound:
        return None
    if container.status == "running" and _address(container, network):
        return container
    container.remove(force=True)  # stopped (an engine restart), or not on this network: start afresh
    return None


@contextmanager
def _one_starter(settings: EnclaveSettings, project: str) -> Iterator[None]:
    """Spawns of one project look for and start its index one at a time (the hub's spawn threads, or
    several hubs on one state folder): the next finds the first one's container running, instead of
    racing it to the name or removing it half-started."""
    folder = settings.state_path / "packages" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{project}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def ensure_index(client: docker.DockerClient, settings: EnclaveSettings, project: str, network: ProjectNetwork) -> str:
    """The project's index running on its network, and its firewall rules in place; its address.

    Raises SpawnRefused when its image is not built, IsolationError when it cannot run confined.
    """
    image = image_tag("packages")
    try:
        client.images.get(image)
    except ImageNotFound:
        raise SpawnRefused(
            f"The package index image {image} is not built yet. An operator runs 'enclave images build'."
        ) from None
    name = index_container_name(settings.instance, project)
    with _one_starter(settings, project):
        container = _running_index(client, name, network.name)
        if container is None:
            try:
                container = client.containers.run(detach=True, **index_spec(settings, project, network.name))
            except APIError as failure:
                raise IsolationError(f"The package index of {project!r} did not start: {failure.explanation}") from None
        address = _address(container, network.name)
        if not address:
            container.remove(force=True)
            raise IsolationError(f"The package index of {project!r} has no address on {network.name}.")
        open_index(network, address, INDEX_PORT)
    return address


def remove_index(client: docker.DockerClient, settings: EnclaveSettings, project: str, bridge: str) -> bool:
    """Remove the project's index container and its firewall rules; whether there was one."""
    forget_index(bridge)
    try:
        client.containers.get(index_container_name(settings.instance, project)).remove(force=True)
    except DockerNotFound:
        return False
    return True
