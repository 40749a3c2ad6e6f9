"""The containers of a project's Spark cluster: what runs, confined how.

Nodes get the same confinement as workspaces (unprivileged user, no
capabilities, no new privileges, the workspaces' seccomp profile and DNS
setting, the image's execute-only init, read-only root with scratch in /tmp,
limits on memory, CPU and processes, no devices, no published ports) and see
the project's extracts read-only at the workspace's paths.
"""

from __future__ import annotations

import re

from docker.types import EndpointConfig, Mount, Ulimit

from ..confinement.container import DNS_NOWHERE, security_opt
from ..confinement.mounts import DatasetMount
from ..errors import InvalidInput
from ..images.catalog import image_tag
from ..isolation.network import BRIDGE_NAME_OPTION, cluster_network_name
from ..settings import EnclaveSettings

MASTER_ALIAS = "spark-master"
MASTER_PORT = 7077
MASTER_UI_PORT = 8080
MASTER_URL = f"spark://{MASTER_ALIAS}:{MASTER_PORT}"
NODE_UID = "1000:1000"
MASTER_MEMORY = "1g"
NODE_PIDS_LIMIT = 1024
# Spark's daemon launcher; the image puts the venv's bin on PATH.
SPARK_CLASS = "spark-class"

cluster_network = cluster_network_name


def container_memory(spark_memory: str) -> str:
    """A worker's container limit: what it offers executors plus room for the worker's own JVM."""
    match = re.fullmatch(r"(\d+)([mg])", spark_memory.strip().lower())
    if not match:
        raise InvalidInput(f"Memory {spark_memory!r} is not like '512m' or '2g'.")
    megabytes = int(match.group(1)) * (1024 if match.group(2) == "g" else 1)
    if megabytes < 256:
        raise InvalidInput("Give a worker at least 256m.")
    return f"{megabytes + 512}m"


def network_of(container) -> str:
    return next(iter(container.attrs["NetworkSettings"]["Networks"]))


def bridge_of(network) -> str:
    return (network.attrs.get("Options") or {}).get(BRIDGE_NAME_OPTION, "")


def _confined(
    settings: EnclaveSettings,
    project: str,
    network: str,
    datasets: list[DatasetMount],
    role: str,
    name: str,
    aliases: list[str],
    memory: str,
    cpus: float,
) -> dict:
    """docker-py `containers.run` arguments shared by master and workers."""
    return {
        "image": image_tag("genomics"),
        "name": f"{settings.instance}-spark-{project}-{name}",
        "hostname": name,
        "user": NODE_UID,
        "labels": {
            "enclave.instance": settings.instance,
            "enclave.project": project,
            "enclave.kind": "spark-node",
            "enclave.spark-role": role,
            "enclave.datasets": ",".join(m.label for m in datasets),
        },
        "network": network,
        "networking_config": {network: EndpointConfig(version="1.41", aliases=aliases)},
        "environment": {
            "SPARK_LOCAL_DIRS": "/tmp/spark",
            "SPARK_WORKER_DIR": "/tmp/spark/work",
            "SPARK_LOG_DIR": "/tmp/spark/logs",
            "SPARK_NO_DAEMONIZE": "1",
            # The image binds Spark to loopback for single-machine use; a node binds to, and
            # advertises, its own name on the cluster network.
            "SPARK_LOCAL_IP": aliases[0],
            "SPARK_LOCAL_HOSTNAME": aliases[0],
            "ENCLAVE_PROJECT": project,
        },
        "mounts": [Mount(target=m.target, source=str(m.source), type="bind", read_only=True) for m in datasets],
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={settings.workspace_scratch_size},mode=1777"},
        "cap_drop": ["ALL"],
        "security_opt": security_opt(),
        "privileged": False,
        "init": False,  # the image's own init is PID 1 (IMAGE_INIT)
        "dns": [DNS_NOWHERE],
        "ipc_mode": "private",
        "pids_limit": NODE_PIDS_LIMIT,
        "mem_limit": memory,
        "memswap_limit": memory,
        "nano_cpus": int(cpus * 1e9),
        "ulimits": [Ulimit(name="core", soft=0, hard=0)],
        "restart_policy": {"Name": "no"},
    }


def master_spec(settings: EnclaveSettings, project: str, network: str, datasets: list[DatasetMount]) -> dict:
    spec = _confined(
        settings, project, network, datasets, "master", "master", [MASTER_ALIAS], container_memory(MASTER_MEMORY), 1.0
    )
    spec["command"] = [
        SPARK_CLASS,
        "org.apache.spark.deploy.master.Master",
        "--host",
        MASTER_ALIAS,
        "--port",
        str(MASTER_PORT),
        "--webui-port",
        str(MASTER_UI_PORT),
    ]
    return spec


def worker_spec(
    settings: EnclaveSettings, project: str, network: str, datasets: list[DatasetMount], number: int, size
) -> dict:
    name = f"worker-{number}"
    spec = _confined(
        settings,
        project,
        network,
        datasets,
        "worker",
        name,
        [f"spark-{name}"],
        container_memory(size.worker_memory),
        float(size.worker_cores),
    )
    spec["command"] = [
        SPARK_CLASS,
        "org.apache.spark.deploy.worker.Worker",
        "--cores",
        str(size.worker_cores),
        "--memory",
        size.worker_memory,
        "--work-dir",
        "/tmp/spark/work",
        MASTER_URL,
    ]
    return spec
