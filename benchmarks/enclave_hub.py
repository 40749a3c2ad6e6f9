"""A real enclave for the benchmark: the harness the integration tests use, with an `encbench-` instance name.

The hub is the real one (hub_config/jupyterhub_config.py, EnclaveSpawner,
the enclave's authenticator); projects, accounts and datasets are made with
the operator operations, as `enclave ...` would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from enclave.operations import datasets, people, projects
from harness.enclave import EnclaveUnderTest, build_enclave, cleanup_instance, make_settings, stop_hub

SPAWN_PROJECT = "spawnbench"  # the single and ten-at-once spawns
SCAN_PROJECT = "scanbench"  # the polars scan
SCAN_USER = "reader"


def build(root: Path) -> EnclaveUnderTest:
    """The enclave's default limits, on free loopback ports, named encbench-<hex> for clean-up."""
    return build_enclave(root, make_settings(root, prefix="encbench", limits={}))


def seed(enclave: EnclaveUnderTest, cohort: Path, analysts: list[str], scan_cpu_limit: float) -> None:
    """Two projects sharing the cohort: one for spawning, one (with its own CPU limit) for the scan."""
    ctx = enclave.ctx
    datasets.register_dataset(ctx, "cohort", "v1", cohort)
    for name in (SPAWN_PROJECT, SCAN_PROJECT):
        projects.create_project(ctx, name)
        datasets.approve_dataset(ctx, name, "cohort", "v1")
    projects.set_limits(ctx, SCAN_PROJECT, cpu_limit=scan_cpu_limit)
    for name in analysts:
        enclave.passwords[name] = people.add_user(ctx, name, ["analyst"]).initial_password
        people.add_member(ctx, SPAWN_PROJECT, name)
    enclave.passwords[SCAN_USER] = people.add_user(ctx, SCAN_USER, ["analyst"]).initial_password
    people.add_member(ctx, SCAN_PROJECT, SCAN_USER)


def tear_down(enclave: EnclaveUnderTest, keep_logs_beside: Path | None) -> None:
    """Stop the benchmark's installation and remove it; with `keep_logs_beside` (its JSON's path, when the
    run went wrong), first copy the hub's, edge's and gate's logs beside it."""
    stop_hub(enclave)
    for log in enclave.log_paths if keep_logs_beside else []:
        if log.exists():
            shutil.copy(log, keep_logs_beside.with_suffix(f".{log.name}"))
    cleanup_instance(enclave.settings.instance)
