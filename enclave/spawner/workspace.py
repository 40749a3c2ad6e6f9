"""EnclaveSpawner: one isolated DockerSpawner container per (analyst, project).

The JupyterHub named server's name is the project. Before anything is
created the spawner asks the enclave's state whether this person may work on
this project now (spawner/plan.py); then it puts the project's isolated
network and host firewall in place (isolation/) and starts the container
with the confinement in spawner/hardening.py. Any failure refuses the spawn.
"""

from __future__ import annotations

import docker
from dockerspawner import DockerSpawner
from traitlets import default

from ..errors import SpawnRefused
from ..images.catalog import image_tag
from ..isolation.firewall import allow_hub
from ..isolation.network import ensure_project_network
from ..packages.index import ensure_index
from ..spark.cluster import cluster_status
from ..spark.nodes import MASTER_URL
from . import hardening
from .common import EnclaveSpawnerMixin
from .plan import WorkspacePlan


class EnclaveSpawner(EnclaveSpawnerMixin, DockerSpawner):
    _cluster = None  # the project's running Spark cluster, if any, found when the spawn is planned

    @default("remove")
    def _default_remove(self) -> bool:
        return True  # a stopped workspace leaves no container; its files live in the mounted folders

    @default("pull_policy")
    def _default_pull_policy(self) -> str:
        return "never"  # images are built by the operator, never fetched at spawn time

    def _isolate(self, plan: WorkspacePlan):
        """Check the image, create or check the project network, open only the hub's port and the project's
        package index (started with the project's first workspace) (blocking calls)."""
        client = docker.from_env()
        self._require_image(client, plan.image_kind, "'enclave images build' (or 'make images')")
        network = ensure_project_network(client, self.settings.instance, plan.project)
        allow_hub(network, self.settings.hub_port)
        ensure_index(client, self.settings, plan.project, network)  # after allow_hub: its DROP goes first
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
        self.extra_host_config = {
            **hardening.host_config(plan, self.settings.workspace_scratch_size),
            "auto_remove": False,
        }
        self.extra_create_kwargs = {
            "user": hardening.WORKSPACE_UID,
            "labels": hardening.labels(self.settings.instance, plan),
            "hostname": f"{plan.project}-workspace",
            "healthcheck": hardening.HEALTHCHECK,
        }
        self.environment = {"ENCLAVE_PROJECT": plan.project, "ENCLAVE_DATA_DIR": "/data"}
        if self._cluster is not None:
            # The Spark driver runs in the workspace; executors on the cluster connect back to it by name.
            self.environment.update(
                {
                    "SPARK_MASTER_URL": MASTER_URL,
                    "SPARK_DRIVER_HOST": self._cluster_alias,
                    "SPARK_LOCAL_IP": self._cluster_alias,
                }
            )

    async def start_object(self):
        if self._cluster is not None:
            await self.docker(
                "connect_container_to_network", self.container_id, self._cluster.network, aliases=[self._cluster_alias]
            )
        await super().start_object()

    def _check_started(self) -> None:
        """A workspace must never hold an address the cluster firewall treats as a node's."""
        if self._cluster is None:
            return
        attrs = docker.from_env().api.inspect_container(self.container_id)
        address = (attrs["NetworkSettings"]["Networks"].get(self._cluster.network) or {}).get("IPAddress")
        if not address or address in {n.address for n in self._cluster.nodes}:
            raise SpawnRefused(
                "The workspace could not join the project's Spark cluster safely; ask an operator "
                "to restart the cluster ('enclave spark stop', then 'start')."
            )

    def _workload(self) -> dict:
        return {"container": self.object_name}

    def _started_details(self, plan: WorkspacePlan) -> dict:
        return {
            **self._workload(),
            "image": self.image,
            "datasets": [m.label for m in plan.datasets],
            "spark_cluster": self._cluster is not None,
        }
