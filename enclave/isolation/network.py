"""Each project's own Docker network: internal (no route out) and with
inter-container traffic off, so workspaces reach neither the outside world
nor each other, not even within one project."""

from __future__ import annotations

import docker
from docker.errors import APIError
from docker.errors import NotFound as DockerNotFound

from ..errors import IsolationError
from .bridges import BRIDGE_PREFIX, ProjectNetwork, bridge_name
from .firewall import forget_bridge, forget_hub_port

ICC_OPTION = "com.docker.network.bridge.enable_icc"
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"


def network_name(instance: str, project: str) -> str:
    return f"{instance}-net-{project}"


def _describe(net) -> ProjectNetwork:
    attrs = net.attrs
    configs = attrs.get("IPAM", {}).get("Config") or []
    gateway = next((c.get("Gateway") for c in configs if c.get("Gateway")), None)
    if not gateway:
        raise IsolationError(f"Network {net.name} has no gateway address; remove it and start again.")
    return ProjectNetwork(name=net.name, bridge=attrs["Options"].get(BRIDGE_NAME_OPTION, ""), gateway=gateway)


def _check_isolated(net, icc: bool) -> None:
    attrs = net.attrs
    options = attrs.get("Options") or {}
    problems = []
    if not attrs.get("Internal"):
        problems.append("it is not internal")
    if not icc and options.get(ICC_OPTION) != "false":
        problems.append("inter-container traffic is on")
    if not options.get(BRIDGE_NAME_OPTION, "").startswith(BRIDGE_PREFIX):
        problems.append("its bridge is not named for the host firewall")
    if problems:
        raise IsolationError(
            f"Network {net.name} exists but is not isolated ({', '.join(problems)}). Refusing to start "
            f"containers on it: remove it with 'docker network rm {net.name}' and the enclave recreates it."
        )


def _ensure_internal_network(
    client: docker.DockerClient, name: str, labels: dict[str, str], icc: bool
) -> ProjectNetwork:
    try:
        net = client.networks.get(name)
    except DockerNotFound:
        options = {BRIDGE_NAME_OPTION: bridge_name(name)}
        if not icc:
            options[ICC_OPTION] = "false"
        try:
            net = client.networks.create(
                name, driver="bridge", internal=True, check_duplicate=True, options=options, labels=labels
            )
        except APIError:
            # Another caller (a racing first spawn) created it first; use that one (checked below).
            net = client.networks.get(name)
    net.reload()
    _check_isolated(net, icc)
    return _describe(net)


def ensure_project_network(client: docker.DockerClient, instance: str, project: str) -> ProjectNetwork:
    labels = {"enclave.instance": instance, "enclave.project": project, "enclave.kind": "project-network"}
    return _ensure_internal_network(client, network_name(instance, project), labels, icc=False)


def cluster_network_name(instance: str, project: str) -> str:
    return f"{instance}-spark-{project}"


def ensure_cluster_network(client: docker.DockerClient, instance: str, project: str) -> ProjectNetwork:
    """A project's compute-cluster network: internal, with inter-container traffic on.

    Cluster nodes and the project's workspaces must talk both ways (a Spark
    driver in a workspace, executors on the workers); the host firewall
    (firewall.confine_cluster) still drops workspace-to-workspace traffic on it.
    """
    labels = {"enclave.instance": instance, "enclave.project": project, "enclave.kind": "cluster-network"}
    return _ensure_internal_network(client, cluster_network_name(instance, project), labels, icc=True)


def remove_instance(client: docker.DockerClient, instance: str) -> list[str]:
    """Remove an installation's containers, networks and their firewall rules (`make clean`, tests)."""
    label = {"label": f"enclave.instance={instance}"}
    for container in client.containers.list(all=True, filters=label):
        container.remove(force=True)
    removed = []
    for net in client.networks.list(filters=label):
        net.reload()
        bridge = (net.attrs.get("Options") or {}).get(BRIDGE_NAME_OPTION, "")
        if bridge.startswith(BRIDGE_PREFIX):
            forget_bridge(bridge)
        net.remove()
        removed.append(net.name)
    forget_hub_port(instance)
    return removed
