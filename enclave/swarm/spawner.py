"""EnclaveSwarmSpawner: one swarm service per (analyst, project), on an overlay of its own.

The same decisions as the single-host EnclaveSpawner (spawner/plan.py), the
same confinement (spawner/hardening.py, translated by service.py), the same
audit events; what differs is where the workspace runs (any node the
placement allows) and how it is isolated (networks.py instead of a project
bridge and the host firewall). It runs inside the hub's container on a
swarm manager: `enclave swarm up`.
"""

from __future__ import annotations

import asyncio

import docker
from dockerspawner import SwarmSpawner
from traitlets import default

from ..errors import IsolationError
from ..images.catalog import image_tag
from ..spawner.common import EnclaveSpawnerMixin
from ..spawner.plan import WorkspacePlan
from . import networks, service
from .settings import SwarmSettings

# Task states from which a task never runs (the rest lead to "running" or are on their way).
TASK_FAILED = {"complete", "shutdown", "failed", "rejected", "orphaned", "remove"}


class EnclaveSwarmSpawner(EnclaveSpawnerMixin, SwarmSpawner):
    _plan: WorkspacePlan | None = None

    @default("pull_policy")
    def _default_pull_policy(self) -> str:
        return "skip"  # images are built by the operator on each node, never fetched at spawn time

    @property
    def swarm(self) -> SwarmSettings:
        if not hasattr(self, "_swarm"):
            self._swarm = SwarmSettings(parent=self)
        return self._swarm

    def _isolate(self, plan: WorkspacePlan) -> networks.WorkspaceOverlay:
        """Check the image, create or check the workspace's overlay, join the hub to it (blocking calls)."""
        client = docker.from_env()
        try:
            self._require_image(client, plan.image_kind, "'enclave images build' on every workspace node")
            net = networks.ensure_overlay(client, self.settings.instance, plan.project, plan.user, self.swarm.encrypted)
            address = networks.attach_hub(client, net, self.swarm.hub_container)
        except docker.errors.APIError as failure:
            explanation = failure.explanation or failure
            raise IsolationError(f"The swarm refused the workspace's network: {explanation}") from None
        return networks.WorkspaceOverlay(name=net.name, hub_address=address)

    def _configure(self, plan: WorkspacePlan, overlay: networks.WorkspaceOverlay) -> None:
        self._plan = plan
        self.network_name = overlay.name
        self.hub_connect_url = f"http://{overlay.hub_address}:{self.settings.hub_port}"
        self.image = image_tag(plan.image_kind)
        self.mem_limit = plan.mem_limit
        self.cpu_limit = plan.cpu_limit
        self.environment = {"ENCLAVE_PROJECT": plan.project, "ENCLAVE_DATA_DIR": "/data"}

    async def create_object(self):
        """Create the service from the plan (SwarmSpawner's own spec has no room for the confinement)."""
        kwargs = service.create_kwargs(
            self._plan,
            name=self.service_name,
            instance=self.settings.instance,
            image=self.image,
            env=self.get_env(),
            command=await self.get_command(),
            scratch_size=self.settings.workspace_scratch_size,
            network=self.network_name,
            placement=self.swarm.placement,
        )
        created = await self.docker("create_service", **kwargs)
        while not await self.docker("tasks", filters={"service": self.service_name}):
            await asyncio.sleep(0.5)
        return created

    async def start_object(self):
        """Wait until the task's container has started, polling briefly (SwarmSpawner backs off to 11 s).

        A task with a health check stays "starting" until its first check passes (a minute: the
        check's interval); the hub's own readiness check is what matters, so "starting" will do.
        """
        while True:
            task = await self.get_task()
            if task is None:
                raise RuntimeError(f"The workspace service {self.service_name} has no task.")
            status = task["Status"]
            state = status["State"]
            if state in ("starting", "running") and status.get("ContainerStatus", {}).get("ContainerID"):
                return
            if state in TASK_FAILED:
                raise RuntimeError(
                    f"The workspace service {self.service_name} did not start ({state}): "
                    f"{status.get('Err') or status.get('Message')}"
                )
            await asyncio.sleep(0.25)

    async def get_ip_and_port(self):
        """The task's own address on the workspace's overlay (the service has no virtual IP: dnsrr)."""
        task = await self.get_task()
        for attachment in (task or {}).get("NetworksAttachments") or []:
            if attachment["Network"]["Spec"]["Name"] == self.network_name and attachment.get("Addresses"):
                return attachment["Addresses"][0].split("/")[0], self.port
        raise RuntimeError(f"The workspace service {self.service_name} has no address on {self.network_name}.")

    def _workload(self) -> dict:
        return {"service": self.service_name}

    def _started_details(self, plan: WorkspacePlan) -> dict:
        return {
            **self._workload(),
            "image": self.image,
            "network": self.network_name,
            "datasets": [m.label for m in plan.datasets],
        }
