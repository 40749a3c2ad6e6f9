"""EnclaveSpawner: one isolated DockerSpawner container per (analyst, project).

The JupyterHub named server's name is the project. Before anything is
created the spawner asks the enclave's state whether this person may work on
this project now (spawner/plan.py); then it puts the project's isolated
network and host firewall in place (isolation/) and starts the container
with the confinement in spawner/hardening.py. Any failure refuses the spawn.
"""

from __future__ import annotations

import asyncio

import docker
from dockerspawner import DockerSpawner
from tornado import web
from traitlets import default

from ..errors import EnclaveError, SpawnRefused
from ..images.catalog import image_tag
from ..isolation.firewall import allow_hub
from ..isolation.network import ensure_project_network
from ..settings import EnclaveSettings
from ..spark.cluster import cluster_status
from ..spark.nodes import MASTER_URL
from ..state import audit
from ..state.db import open_state_db
from . import hardening
from .plan import WorkspacePlan, plan_workspace


class EnclaveSpawner(DockerSpawner):
    _cluster = None  # the project's running Spark cluster, if any, found when the spawn is planned

    @default("remove")
    def _default_remove(self) -> bool:
        return True  # a stopped workspace leaves no container; its files live in the mounted folders

    @default("pull_policy")
    def _default_pull_policy(self) -> str:
        return "never"  # images are built by the operator, never fetched at spawn time

    @default("options_form")
    def _default_options_form(self) -> str:
        return ""  # nothing for users to choose: the operator fixes the image and limits

    @default("use_internal_ip")
    def _default_use_internal_ip(self) -> bool:
        return True

    def options_from_form(self, formdata):
        return {}

    @property
    def settings(self) -> EnclaveSettings:
        if not hasattr(self, "_settings"):
            self._settings = EnclaveSettings(parent=self)
        return self._settings

    @property
    def state(self):
        return open_state_db(self.settings.database_url)

    def _audit(self, action: str, outcome: str, details: dict) -> None:
        with self.state.transaction() as session:
            audit.record(session, actor=self.user.name, action=action, target=f"{self.name}/{self.user.name}",
                         outcome=outcome, details=details)

    @default("object_name")
    def _object_name_default(self) -> str:
        return f"{self.settings.instance}-ws-{self.name or 'none'}-{self.user.name}"

    def _isolate(self, plan: WorkspacePlan):
        """Check the image, create or check the project network, open only the hub's port (blocking calls)."""
        client = docker.from_env()
        image = image_tag(plan.image_kind)
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            raise SpawnRefused(f"The workspace image {image} is not built yet. An operator runs "
                               "'enclave images build' (or 'make images').") from None
        network = ensure_project_network(client, self.settings.instance, plan.project)
        allow_hub(network, self.settings.hub_port)
        cluster = cluster_status(client, self.settings.instance, plan.project)
        self._cluster = cluster if cluster is not None and cluster.running else None
        return network

    @property
    def _cluster_alias(self) -> str:
        return f"ws-{self.user.name}"

    def _configure(self, plan: WorkspacePlan, network) -> None:
        self.network_name = network.name
        self.hub_connect_url = f"http://{network.gateway}:{self.settings.hub_port}"
        self.image = image_tag(plan.image_kind)
        self.mem_limit = plan.mem_limit
        self.cpu_limit = plan.cpu_limit
        self.mounts = hardening.mounts(plan)
        self.volumes = {}
        self.read_only_volumes = {}
        # auto_remove off: a workspace that dies keeps its logs until the next stop/start removes it.
        self.extra_host_config = {**hardening.host_config(plan, self.settings.workspace_scratch_size),
                                  "auto_remove": False}
        self.extra_create_kwargs = {
            "user": hardening.WORKSPACE_UID,
            "labels": hardening.labels(self.settings.instance, plan),
            "hostname": f"{plan.project}-workspace",
            "healthcheck": hardening.HEALTHCHECK,
        }
        self.environment = {"ENCLAVE_PROJECT": plan.project, "ENCLAVE_DATA_DIR": "/data"}
        if self._cluster is not None:
            # The Spark driver runs in the workspace; executors on the cluster connect back to it by name.
            self.environment.update({"SPARK_MASTER_URL": MASTER_URL, "SPARK_DRIVER_HOST": self._cluster_alias,
                                     "SPARK_LOCAL_IP": self._cluster_alias})

    async def start_object(self):
        if self._cluster is not None:
            await self.docker("connect_container_to_network", self.container_id, self._cluster.network,
                              aliases=[self._cluster_alias])
        await super().start_object()

    def _check_cluster_address(self) -> None:
        """A workspace must never hold an address the cluster firewall treats as a node's."""
        if self._cluster is None:
            return
        attrs = docker.from_env().api.inspect_container(self.container_id)
        address = (attrs["NetworkSettings"]["Networks"].get(self._cluster.network) or {}).get("IPAddress")
        if not address or address in {n.address for n in self._cluster.nodes}:
            raise SpawnRefused("The workspace could not join the project's Spark cluster safely; ask an operator "
                               "to restart the cluster ('enclave spark stop', then 'start').")

    async def start(self):
        if self.user_options:
            # Nothing is the user's to choose; the hub may also replay options saved from an
            # earlier request, so they are dropped rather than refused.
            self.log.warning("Ignoring user options %s for %s", sorted(self.user_options), self._log_name)
            self.user_options = {}
        try:
            plan = await asyncio.to_thread(plan_workspace, self.state, self.settings, self.user.name, self.name)
            network = await asyncio.to_thread(self._isolate, plan)
            self._configure(plan, network)
        except EnclaveError as refusal:
            self._audit("workspace.start", "refused", {"reason": str(refusal)})
            raise web.HTTPError(403, str(refusal)) from None
        try:
            result = await super().start()
            await asyncio.to_thread(self._check_cluster_address)
            await self._until_listening(*result)
        except Exception as failure:
            self._audit("workspace.start", "error", {"container": self.object_name, "error": str(failure)[:500]})
            raise
        self._audit("workspace.start", "ok", {"container": self.object_name, "image": self.image,
                                               "datasets": [m.label for m in plan.datasets],
                                               "spark_cluster": self._cluster is not None})
        return result

    async def _until_listening(self, ip: str, port: int) -> None:
        """Wait (briefly polling) until the server accepts connections.

        The hub's own readiness check backs off exponentially (0.2, 0.4, 0.8 ... s)
        and so adds up to seconds after the server is already up; answering its
        first check shortens spawn-to-ready without skipping the hub's check.
        """
        loop = asyncio.get_running_loop()
        deadline, next_poll = loop.time() + self.http_timeout, loop.time() + 1
        while loop.time() < deadline:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout=1)
                writer.close()
                return
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep(0.05)
            if loop.time() > next_poll:
                if await self.poll() is not None:
                    return  # the container exited: the hub reports why
                next_poll = loop.time() + 1

    async def stop(self, now: bool = False):
        await super().stop(now=now)
        self._audit("workspace.stop", "ok", {"container": self.object_name})
