"""The workspace's confinement (spawner/hardening.py) as a swarm service.

hardening.py stays the one statement of the policy; this module only
translates it into the shapes of Docker's service API (1.41, Engine 20.10).
Where a service has no such option, `EQUIVALENTS` says what keeps the
property instead; tests/unit/test_swarm_service.py checks every key of
hardening.host_config is accounted for.
"""

from __future__ import annotations

from docker.types import (
    ContainerSpec,
    DNSConfig,
    EndpointSpec,
    Healthcheck,
    Mount,
    Placement,
    Resources,
    RestartPolicy,
    TaskTemplate,
)
from docker.utils import parse_bytes

from ..spawner import hardening
from ..spawner.plan import WorkspacePlan

# Every process of the server and its kernels runs with the no_new_privs bit set: services in API
# 1.41 have no security_opt, but an unprivileged process may set the bit for itself, and it is
# inherited and can never be cleared (prctl PR_SET_NO_NEW_PRIVS). setpriv is util-linux (always in Debian).
NO_NEW_PRIVS = ["setpriv", "--no-new-privs"]
# A service's command replaces the image's ENTRYPOINT: start the image's execute-only init (PID 1,
# not dumpable; see hardening.IMAGE_INIT) explicitly, as the image would.
COMMAND = [hardening.IMAGE_INIT, "--", *NO_NEW_PRIVS]

# How each setting of hardening.host_config is kept for a service.
EQUIVALENTS: dict[str, str] = {
    "cap_drop": "ContainerSpec.CapabilityDrop (API 1.41)",
    "security_opt": "no-new-privileges: the command runs under `setpriv --no-new-privs` (NO_NEW_PRIVS); the "
    "seccomp profile: NOT AVAILABLE for services before API 1.44 (Engine 25): the engine's "
    "default profile applies (docs/scaling.md)",
    "read_only": "ContainerSpec.ReadOnly",
    "privileged": "services cannot be privileged",
    "init": "ContainerSpec.Init, off as in hardening: COMMAND starts the image's own init",
    "ipc_mode": "the engine's default IPC mode, private (checked by the swarm test)",
    "pids_limit": "Resources.Limits.Pids (API 1.41)",
    "memswap_limit": "NOT AVAILABLE for services: workspace nodes run without swap (docs/scaling.md)",
    "tmpfs": "a tmpfs mount at /tmp with the same size and mode",
    "devices": "services get no devices",
    "ulimits": "ContainerSpec.Ulimits (API 1.41)",
    "dns": "ContainerSpec.DNSConfig.Nameservers",
    "cpu_shares": "NOT AVAILABLE for services: a CPU limit per workspace (NanoCPUs) instead",
    "restart_policy": "TaskTemplate.RestartPolicy condition none",
}


def _mounts(plan: WorkspacePlan, scratch_size: str) -> list[Mount]:
    binds = [
        Mount(target=m["target"], source=m["source"], type="bind", read_only=m["read_only"])
        for m in hardening.mounts(plan)
    ]
    tmpfs_options = hardening.host_config(plan, scratch_size)["tmpfs"]["/tmp"]
    mode = next(int(o.split("=", 1)[1], 8) for o in tmpfs_options.split(",") if o.startswith("mode="))
    return binds + [
        Mount(target="/tmp", source=None, type="tmpfs", tmpfs_size=parse_bytes(scratch_size), tmpfs_mode=mode)
    ]


def container_spec(
    plan: WorkspacePlan, instance: str, image: str, env: dict, command: list[str], scratch_size: str
) -> ContainerSpec:
    host = hardening.host_config(plan, scratch_size)
    spec = ContainerSpec(
        image=image,
        command=COMMAND,
        args=command,
        env=env,
        user=hardening.WORKSPACE_UID,
        hostname=f"{plan.project}-workspace",
        labels=hardening.labels(instance, plan),
        mounts=_mounts(plan, scratch_size),
        read_only=host["read_only"],
        init=host["init"],
        cap_drop=host["cap_drop"],
        healthcheck=Healthcheck(**hardening.HEALTHCHECK),
        dns_config=DNSConfig(nameservers=host["dns"]),
    )
    # Not in docker-py's ContainerSpec yet, but in the engine's API 1.41.
    spec["Ulimits"] = host["ulimits"]
    return spec


def resources(plan: WorkspacePlan) -> Resources:
    spec = Resources(cpu_limit=int(plan.cpu_limit * 1e9), mem_limit=parse_bytes(plan.mem_limit))
    spec["Limits"]["Pids"] = plan.pids_limit  # API 1.41; not in docker-py's Resources yet
    return spec


def create_kwargs(
    plan: WorkspacePlan,
    *,
    name: str,
    instance: str,
    image: str,
    env: dict,
    command: list[str],
    scratch_size: str,
    network: str,
    placement: list[str],
) -> dict:
    """Keyword arguments of docker's APIClient.create_service for one workspace."""
    task = TaskTemplate(
        container_spec=container_spec(plan, instance, image, env, command, scratch_size),
        resources=resources(plan),
        # The hub decides whether a workspace runs, not the orchestrator.
        restart_policy=RestartPolicy(condition="none"),
        placement=Placement(constraints=list(placement)),
        networks=[network],
    )
    return {
        "task_template": task,
        "name": name,
        "labels": hardening.labels(instance, plan),
        # dnsrr: no virtual IP and no published port; the hub reaches the task on its overlay address.
        "endpoint_spec": EndpointSpec(mode="dnsrr"),
    }
