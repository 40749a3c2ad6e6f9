"""A project's Spark standalone cluster: one master and N workers as containers.

The nodes run the project's genomics image on the project's cluster network
(internal, reachable only by the project's workspaces: isolation.network and
isolation.firewall.confine_cluster), with the project's extracts mounted
read-only at the same paths as in a workspace, so a job reads
/data/<name>/<version> wherever it runs. Nodes are confined like workspaces
(spark/nodes.py). Docker's labels are the cluster's state: nothing else to
keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker
from docker.errors import APIError, ImageNotFound, NotFound

from ..confinement.mounts import project_dataset_mounts
from ..errors import EnclaveError, InvalidInput, IsolationError
from ..images.catalog import image_tag
from ..isolation.firewall import confine_cluster, forget_bridge
from ..isolation.network import ensure_cluster_network
from ..operations.base import OperatorContext
from ..state.models import ProjectStatus
from ..state.queries import get_project
from . import nodes

SPARK_IMAGE_KIND = "genomics"  # the image with a Java runtime and Spark


@dataclass(frozen=True)
class ClusterSize:
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "1g"  # what each worker offers executors (Spark's notation)

    def check(self) -> None:
        if not 1 <= self.workers <= 16:
            raise InvalidInput("A cluster has between 1 and 16 workers.")
        if not 1 <= self.worker_cores <= 64:
            raise InvalidInput("Worker cores must be between 1 and 64.")
        nodes.container_memory(self.worker_memory)  # raises on a malformed size


@dataclass(frozen=True)
class ClusterNode:
    role: str
    container: str
    address: str
    status: str


@dataclass(frozen=True)
class ClusterStatus:
    project: str
    network: str
    master_url: str
    nodes: tuple[ClusterNode, ...]

    @property
    def running(self) -> bool:
        return bool(self.nodes) and all(n.status == "running" for n in self.nodes)


def _labels(instance: str, project: str) -> list[str]:
    return [f"enclave.instance={instance}", f"enclave.project={project}", "enclave.kind=spark-node"]


def _node_containers(client: docker.DockerClient, instance: str, project: str) -> list:
    return client.containers.list(all=True, filters={"label": _labels(instance, project)})


def cluster_status(client: docker.DockerClient, instance: str, project: str) -> ClusterStatus | None:
    containers = _node_containers(client, instance, project)
    if not containers:
        return None
    network = nodes.network_of(containers[0])
    found = []
    for c in sorted(containers, key=lambda c: c.name):
        address = (c.attrs["NetworkSettings"]["Networks"].get(network) or {}).get("IPAddress", "")
        found.append(
            ClusterNode(
                role=c.labels.get("enclave.spark-role", "?"), container=c.name, address=address, status=c.status
            )
        )
    return ClusterStatus(project=project, network=network, master_url=nodes.MASTER_URL, nodes=tuple(found))


def _project_plan(ctx: OperatorContext, project: str):
    with ctx.db.reading() as session:
        proj = get_project(session, project)
        if proj.status is not ProjectStatus.ACTIVE:
            raise InvalidInput(f"Project {project!r} is {proj.status.value}; its cluster cannot start.")
        if proj.image != SPARK_IMAGE_KIND:
            raise InvalidInput(
                f"Project {project!r} uses the {proj.image!r} image, which has no Spark. Clusters "
                f"run the {SPARK_IMAGE_KIND!r} image: create the project with "
                f"'--image {SPARK_IMAGE_KIND}'."
            )
        return project_dataset_mounts(session, proj)


def _launch(client, ctx: OperatorContext, project: str, size: ClusterSize, datasets) -> ClusterStatus:
    settings = ctx.settings
    image = image_tag(SPARK_IMAGE_KIND)
    try:
        client.images.get(image)
    except ImageNotFound:
        raise InvalidInput(f"The image {image} is not built yet: run 'enclave images build'.") from None
    network = ensure_cluster_network(client, settings.instance, project)
    specs = [nodes.master_spec(settings, project, network.name, datasets)]
    specs += [nodes.worker_spec(settings, project, network.name, datasets, i, size) for i in range(1, size.workers + 1)]
    for spec in specs:
        client.containers.run(detach=True, **spec)
    status = cluster_status(client, settings.instance, project)
    if status is None or not status.running or not all(n.address for n in status.nodes):
        raise IsolationError(f"The cluster of {project!r} did not start: see 'docker logs' of its nodes.")
    # Until these rules are in, nothing but the nodes is on the network; fail closed if they cannot be set.
    confine_cluster(network, [n.address for n in status.nodes])
    return status


def _refuse(refusal: EnclaveError):
    def change(session):
        raise refusal

    return change


def start_cluster(ctx: OperatorContext, project: str, size: ClusterSize = ClusterSize()) -> ClusterStatus:
    """Start the project's cluster (audited). Workspaces started afterwards join it.

    Docker work happens outside the state database's write transaction (it
    takes seconds); the audit event follows it, or records the refusal.
    """
    details = {"workers": size.workers, "worker_cores": size.worker_cores, "worker_memory": size.worker_memory}
    client = docker.from_env()
    try:
        size.check()
        if cluster_status(client, ctx.settings.instance, project) is not None:
            raise InvalidInput(f"Project {project!r} has a cluster already; stop it first with 'enclave spark stop'.")
        datasets = _project_plan(ctx, project)
        try:
            status = _launch(client, ctx, project, size, datasets)
        except APIError as failure:
            raise IsolationError(f"Docker refused to start the cluster: {failure.explanation}") from None
    except EnclaveError as refusal:
        if not isinstance(refusal, InvalidInput):
            remove_cluster(client, ctx.settings.instance, project)  # leave nothing half-started
        ctx.audited("spark.start", project, _refuse(refusal), details=details)  # records it, re-raises
        raise
    ctx.audited(
        "spark.start",
        project,
        lambda session: None,
        details={**details, "nodes": [n.container for n in status.nodes], "datasets": [m.label for m in datasets]},
    )
    return status


def remove_cluster(client: docker.DockerClient, instance: str, project: str) -> list[str]:
    """Remove the project's cluster nodes, its network and the network's firewall rules."""
    removed = []
    for container in _node_containers(client, instance, project):
        container.remove(force=True)
        removed.append(container.name)
    network_name = nodes.cluster_network(instance, project)
    try:
        net = client.networks.get(network_name)
    except NotFound:
        return removed
    net.reload()
    for attached in net.attrs.get("Containers") or {}:
        try:
            net.disconnect(attached, force=True)
        except APIError:
            pass  # the container went away meanwhile
    forget_bridge(nodes.bridge_of(net))
    net.remove()
    return removed


def stop_cluster(ctx: OperatorContext, project: str) -> list[str]:
    """Stop and remove the project's cluster and its network; workspaces lose the cluster at once."""
    removed = remove_cluster(docker.from_env(), ctx.settings.instance, project)
    ctx.audited("spark.stop", project, lambda session: None, details={"removed": removed})
    return removed
