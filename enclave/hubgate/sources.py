"""Which workspace a request to the gate came from, by its source address.

Workspaces reach the gate on their project network's gateway, so the source
address of a connection is the workspace's own address on that network (no
address translation happens on the way to the host). The engine knows which
of this installation's workspace containers has that address, and its labels
name the hub user and the project. In swarm mode a workspace on another node
is found through its service's tasks instead.

Answers are kept for a few seconds, and an unknown address is not asked
again at once, so a workspace sending many requests cannot make the gate
hammer the engine; an unknown address is None (the gate then refuses what
needs an owner).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import docker

log = logging.getLogger(__name__)

KEEP_SECONDS = 5.0  # an address may pass to another container: answers are not kept longer
REREAD_SECONDS = 0.5  # an unknown address (a workspace just started) is asked again, at most this often


@dataclass(frozen=True)
class Workspace:
    user: str
    project: str


def _labels_filter(instance: str) -> dict:
    return {"label": [f"enclave.instance={instance}", "enclave.kind=workspace"]}


def _from_labels(labels: dict) -> Workspace | None:
    user, project = labels.get("enclave.user"), labels.get("enclave.project")
    return Workspace(user, project) if user and project else None


def container_addresses(client: docker.DockerClient, instance: str) -> dict[str, Workspace]:
    """Addresses of this installation's workspace containers on this engine."""
    found = {}
    for container in client.containers.list(filters=_labels_filter(instance)):
        workspace = _from_labels(container.labels)
        networks = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
        for network in networks.values():
            if workspace and network.get("IPAddress"):
                found[network["IPAddress"]] = workspace
    return found


def task_addresses(client: docker.DockerClient, instance: str) -> dict[str, Workspace]:
    """Addresses of this installation's workspace services' running tasks (swarm mode, any node)."""
    found = {}
    for service in client.services.list(filters=_labels_filter(instance)):
        spec = service.attrs.get("Spec", {})
        labels = spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Labels") or spec.get("Labels") or {}
        workspace = _from_labels(labels)
        if workspace is None:
            continue
        for task in service.tasks(filters={"desired-state": "running"}):
            for attachment in task.get("NetworksAttachments") or []:
                for address in attachment.get("Addresses") or []:
                    found[address.split("/", 1)[0]] = workspace
    return found


class WorkspaceSources:
    """Address -> Workspace for one installation, asked of the Docker engine (blocking: call off the loop)."""

    def __init__(
        self, instance: str, swarm: bool = False, client: docker.DockerClient | None = None, clock=time.monotonic
    ):
        self.instance = instance
        self.swarm = swarm
        self._client = client
        self.clock = clock
        self._known: dict[str, Workspace] = {}
        self._read_at: float | None = None

    def _engine(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker.from_env()
        return self._client

    def _read(self) -> dict[str, Workspace]:
        client = self._engine()
        found = container_addresses(client, self.instance)
        if self.swarm:
            found.update(task_addresses(client, self.instance))
        return found

    def workspace_at(self, address: str) -> Workspace | None:
        now = self.clock()
        stale = self._read_at is None or now - self._read_at >= KEEP_SECONDS
        missing = address not in self._known and (self._read_at is None or now - self._read_at >= REREAD_SECONDS)
        if stale or missing:
            try:
                self._known = self._read()
            except docker.errors.DockerException:
                log.exception("could not ask the Docker engine which workspace has address %s", address)
                self._known = {}  # fail closed: nobody is known
            self._read_at = now
        return self._known.get(address)
