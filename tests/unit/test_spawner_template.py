"""Both spawners start and stop through the one template in spawner/common.py and fill in only its hooks
(as dockerspawner's SwarmSpawner overrides only hooks of DockerSpawner). What the template does is proved
on real workspaces: tests/integration/test_lifecycle.py (single host) and test_swarm.py (swarm)."""

from __future__ import annotations

import pytest

from enclave.spawner.common import EnclaveSpawnerMixin
from enclave.spawner.workspace import EnclaveSpawner
from enclave.swarm.spawner import EnclaveSwarmSpawner

HOOKS = ("_isolate", "_configure", "_workload", "_started_details")


@pytest.mark.parametrize("spawner", [EnclaveSpawner, EnclaveSwarmSpawner])
def test_each_spawner_fills_in_the_hooks_and_keeps_the_template(spawner):
    assert spawner.start is EnclaveSpawnerMixin.start and spawner.stop is EnclaveSpawnerMixin.stop
    for hook in HOOKS:
        assert hook in vars(spawner), f"{spawner.__name__} does not fill in {hook}"


def test_the_template_comes_before_dockerspawner_in_the_method_order():
    for spawner in (EnclaveSpawner, EnclaveSwarmSpawner):
        order = spawner.__mro__
        assert order.index(EnclaveSpawnerMixin) < next(i for i, c in enumerate(order) if c.__name__ == "DockerSpawner")
