"""The confinement and commands of a project's Spark cluster nodes (no Docker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from enclave.confinement.mounts import DatasetMount
from enclave.errors import InvalidInput
from enclave.settings import EnclaveSettings
from enclave.spark import ClusterSize
from enclave.spark.nodes import MASTER_URL, container_memory, master_spec, worker_spec
from enclave.spawner import hardening

DATA = [DatasetMount("cohort@v1", Path("/srv/extracts/alpha/cohort/v1"), "/data/cohort/v1")]


@pytest.fixture
def settings(tmp_path):
    return EnclaveSettings(state_dir=str(tmp_path), instance="unit")


@pytest.mark.parametrize("given, limit", [("512m", "1024m"), ("1g", "1536m"), ("2G", "2560m")])
def test_a_worker_container_has_room_for_its_own_jvm(given, limit):
    assert container_memory(given) == limit


@pytest.mark.parametrize("bad", ["lots", "1t", "100m", "", "1.5g"])
def test_malformed_or_tiny_memory_is_refused_with_the_expected_form(bad):
    with pytest.raises(InvalidInput):
        container_memory(bad)


@pytest.mark.parametrize(
    "size",
    [ClusterSize(workers=0), ClusterSize(workers=17), ClusterSize(worker_cores=0), ClusterSize(worker_memory="huge")],
)
def test_cluster_sizes_out_of_range_are_refused(size):
    with pytest.raises(InvalidInput):
        size.check()


def test_nodes_are_confined_like_workspaces(settings):
    for spec in (
        master_spec(settings, "alpha", "net", DATA),
        worker_spec(settings, "alpha", "net", DATA, 1, ClusterSize()),
    ):
        assert spec["user"] == "1000:1000"
        assert spec["read_only"] and spec["cap_drop"] == ["ALL"] and not spec["privileged"]
        assert spec["security_opt"] == hardening.security_opt()  # no new privileges, the workspaces' seccomp
        assert any(o.startswith("seccomp=") for o in spec["security_opt"])
        assert spec["dns"] == [hardening.DNS_NOWHERE] and spec["init"] is False
        assert "ports" not in spec and spec["network"] == "net"
        assert spec["memswap_limit"] == spec["mem_limit"]
        assert [(m["Target"], m["ReadOnly"]) for m in spec["mounts"]] == [("/data/cohort/v1", True)]
        assert spec["labels"]["enclave.kind"] == "spark-node"


def test_workers_register_with_the_master_by_its_name(settings):
    master = master_spec(settings, "alpha", "net", DATA)
    worker = worker_spec(settings, "alpha", "net", DATA, 2, ClusterSize(worker_cores=3, worker_memory="2g"))
    assert "org.apache.spark.deploy.master.Master" in master["command"]
    assert worker["command"][-1] == MASTER_URL
    assert worker["command"][worker["command"].index("--cores") + 1] == "3"
    assert worker["name"] == "unit-spark-alpha-worker-2"
