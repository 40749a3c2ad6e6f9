"""The container settings that confine a workspace.

Kept apart from the spawner so the whole policy reads in one screen and the
tests can compare a running container's `docker inspect` against it.
"""

from __future__ import annotations

from .plan import HOME, WorkspacePlan

WORKSPACE_UID = "1000:1000"


def host_config(plan: WorkspacePlan, scratch_size: str) -> dict:
    """docker-py host_config keyword arguments (merged over DockerSpawner's own)."""
    return {
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "read_only": True,
        "privileged": False,
        "init": True,  # reap kernels' orphaned children
        "ipc_mode": "private",
        "pids_limit": plan.pids_limit,
        "memswap_limit": plan.mem_limit,  # equal to the memory limit: no swap
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={scratch_size},mode=1777"},
        "devices": [],
        "ulimits": [{"Name": "core", "Soft": 0, "Hard": 0}],
    }


def mounts(plan: WorkspacePlan) -> list[dict]:
    """Bind mounts: the approved datasets read-only, the analyst's own folders writable, nothing else."""
    own = [
        {"type": "bind", "source": str(plan.home), "target": HOME, "read_only": False},
        {"type": "bind", "source": str(plan.shared), "target": f"{HOME}/shared", "read_only": False},
        {"type": "bind", "source": str(plan.outbox), "target": f"{HOME}/outbox", "read_only": False},
    ]
    data = [
        {"type": "bind", "source": str(m.source), "target": m.target, "read_only": True}
        for m in plan.datasets
    ]
    return own + data


def labels(instance: str, plan: WorkspacePlan) -> dict[str, str]:
    return {
        "enclave.instance": instance,
        "enclave.kind": "workspace",
        "enclave.project": plan.project,
        "enclave.user": plan.user,
        "enclave.datasets": ",".join(m.label for m in plan.datasets),
    }
