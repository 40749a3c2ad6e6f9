"""The container settings that confine a workspace.

Kept apart from the spawner so the whole policy reads in one screen and the
tests can compare a running container's `docker inspect` against it.
"""

from __future__ import annotations

# What Spark nodes share with workspaces (the first process, the resolver, the security options) is
# in confinement/container.py; named here too, so the workspace's whole policy reads in this screen.
from ..confinement.container import DNS_NOWHERE, IMAGE_INIT, security_opt  # noqa: F401 (IMAGE_INIT)
from .plan import HOME, WorkspacePlan

WORKSPACE_UID = "1000:1000"

# CIS 5.12: a CPU share set on purpose. Shares weigh containers against each other (the hub and proxy
# run on the host, outside Docker's cgroup): half the default 1024, so under contention any service
# container left at the default (a project's Spark nodes) gets twice a workspace's weight.
CPU_SHARES = 512

SECONDS = 1_000_000_000  # Docker gives health check times in nanoseconds

# CIS 5.27: the engine records whether the server answers. Jupyter's /api answers without a login.
# (DockerSpawner formats these strings with str.format: no braces.)
HEALTHCHECK = {
    # -I: the check runs in the analyst's home; nothing there (e.g. ~/urllib/) may be imported.
    "test": [
        "CMD",
        "python3",
        "-I",
        "-c",
        "import os, urllib.request as u; "
        "u.urlopen(os.environ['JUPYTERHUB_SERVICE_URL'].replace('0.0.0.0', '127.0.0.1') + 'api', timeout=10)",
    ],
    "interval": 60 * SECONDS,
    "timeout": 15 * SECONDS,
    "retries": 3,
    "start_period": 60 * SECONDS,
}


def host_config(plan: WorkspacePlan, scratch_size: str) -> dict:
    """docker-py host_config keyword arguments (merged over DockerSpawner's own)."""
    return {
        "cap_drop": ["ALL"],
        "security_opt": security_opt(),
        "read_only": True,
        "privileged": False,
        "init": False,  # the image's IMAGE_INIT is PID 1 and reaps kernels' orphaned children
        "ipc_mode": "private",
        "pids_limit": plan.pids_limit,
        "memswap_limit": plan.mem_limit,  # equal to the memory limit: no swap
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={scratch_size},mode=1777"},
        "devices": [],
        "ulimits": [{"Name": "core", "Soft": 0, "Hard": 0}],
        "dns": [DNS_NOWHERE],
        "cpu_shares": CPU_SHARES,
        "restart_policy": {"Name": "no"},  # the hub decides whether a workspace runs, not the engine
    }


def mounts(plan: WorkspacePlan) -> list[dict]:
    """Bind mounts: the approved datasets read-only, the analyst's own folders writable, nothing else."""
    own = [
        {"type": "bind", "source": str(plan.home), "target": HOME, "read_only": False},
        {"type": "bind", "source": str(plan.shared), "target": f"{HOME}/shared", "read_only": False},
        {"type": "bind", "source": str(plan.outbox), "target": f"{HOME}/outbox", "read_only": False},
    ]
    data = [{"type": "bind", "source": str(m.source), "target": m.target, "read_only": True} for m in plan.datasets]
    return own + data


def labels(instance: str, plan: WorkspacePlan) -> dict[str, str]:
    return {
        "enclave.instance": instance,
        "enclave.kind": "workspace",
        "enclave.project": plan.project,
        "enclave.user": plan.user,
        "enclave.datasets": ",".join(m.label for m in plan.datasets),
    }
