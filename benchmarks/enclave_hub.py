"""A real enclave for the benchmark: the integration tests' harness with an `encbench-` instance name.

The hub is the real one (hub_config/jupyterhub_config.py, EnclaveSpawner,
the enclave's authenticator); projects, accounts and datasets are made with
the operator operations, as `enclave ...` would.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from enclave.hub.workspaces import HubWorkspaces
from enclave.operations import datasets, people, projects
from enclave.operations.base import OperatorContext
from enclave.settings import EnclaveSettings
from enclave.state.db import open_state_db
from tests.support.enclave import EnclaveUnderTest, free_port

SPAWN_PROJECT = "spawnbench"  # the single and ten-at-once spawns
SCAN_PROJECT = "scanbench"  # the polars scan
SCAN_USER = "reader"


def build(root: Path) -> EnclaveUnderTest:
    """Settings are the enclave's defaults (limits included), on free loopback ports."""
    settings = EnclaveSettings(
        state_dir=str(root / "state"),
        instance=f"encbench-{secrets.token_hex(3)}",
        public_ip="127.0.0.1",
        public_port=free_port(),
        hub_port=free_port(),
        proxy_api_port=free_port(),
    )
    ctx = OperatorContext(settings=settings, db=open_state_db(settings.database_url), actor="benchmark",
                          workspaces=HubWorkspaces(settings))
    return EnclaveUnderTest(settings=settings, ctx=ctx, url=f"http://127.0.0.1:{settings.public_port}",
                            log_path=root / "hub.log")


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
