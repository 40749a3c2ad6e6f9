"""The package index of a project (its own container on the project network, enclave/packages/index.py):
workspaces reach its port and nothing else of it, and it reaches nothing: not the host (the hub gate
included), not the outside, not another project, not the workspaces beside it.

Every target is this run's own: a sentinel on this host, the hub gate's port, the other project's index
and workspace. The index's probes run inside its container (docker exec, as its own user); each test first
shows that the probe succeeds where it should (the index answers workspaces; from inside, itself).
"""

from __future__ import annotations

import pytest

from enclave.packages.index import INDEX_PORT, index_container_name
from tests.integration.security.probes import connect, connect_code, gateway, host_addresses
from tests.support.sentinel import HostSentinel


@pytest.fixture(scope="module")
def host_sentinel():
    sentinel = HostSentinel()
    yield sentinel
    sentinel.close()


def _index(enclave, workspace):
    workspace.ensure_running()  # a workspace's start starts its project's index
    container = enclave.containers(kind="package-index", project=workspace.project)
    assert [c.name for c in container] == [index_container_name(enclave.settings.instance, workspace.project)]
    container[0].reload()
    return container[0]


def _address(container) -> str:
    (address,) = [n["IPAddress"] for n in container.attrs["NetworkSettings"]["Networks"].values()]
    return address


def _from_index(container, targets: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    code, output = container.exec_run(["python3", "-c", connect_code(targets)])
    assert code == 0, output
    verdicts = {}
    for line in output.decode().strip().splitlines():
        host, port, verdict = line.split()
        verdicts[(host, int(port))] = verdict
    return verdicts


def test_the_index_runs_confined(enclave, alice_alpha):
    """RT-PKG01: the index container: nobody, read-only root and folders, no capabilities, limits, no ports."""
    index = _index(enclave, alice_alpha)
    host = index.attrs["HostConfig"]
    assert index.attrs["Config"]["User"] == "65534:65534"
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"] and host["Privileged"] is False
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["PidsLimit"] > 0 and host["Memory"] > 0 and host["Memory"] == host["MemorySwap"]
    assert not host.get("PortBindings") and host["Dns"] == ["127.0.0.1"]
    assert {(m["Destination"], m["RW"]) for m in index.attrs["Mounts"]} == {
        ("/packages/all", False),
        ("/packages/project", False),
    }
    code, output = index.exec_run(["sh", "-c", "touch /packages/project/x; touch /opt/x"])
    assert code != 0 and output.decode().count("Read-only file system") == 2, output


def test_workspaces_reach_the_indexs_port_and_nothing_else_of_it(enclave, alice_alpha):
    """RT-PKG02: from a workspace, the index's port opens; its other ports are dropped (ICC off), not refused."""
    address = _address(_index(enclave, alice_alpha))
    verdicts = connect(alice_alpha, [(address, INDEX_PORT), (address, 22), (address, 8081), ("packages", INDEX_PORT)])
    assert verdicts == {
        (address, INDEX_PORT): "OPEN",
        (address, 22): "TIMEOUT",
        (address, 8081): "TIMEOUT",
        ("packages", INDEX_PORT): "OPEN",
    }


def test_the_index_reaches_nothing_on_the_host_not_even_the_hub_gate(enclave, alice_alpha, host_sentinel):
    """RT-PKG03: from the index, the hub gate's port on the gateway (open to workspaces) and a sentinel on
    every address of this host."""
    index = _index(enclave, alice_alpha)
    hub_gate = (gateway(alice_alpha), enclave.settings.hub_port)
    assert connect(alice_alpha, [hub_gate]) == {hub_gate: "OPEN"}  # the control: workspaces reach it
    assert _from_index(index, [("127.0.0.1", INDEX_PORT)]) == {("127.0.0.1", INDEX_PORT): "OPEN"}  # the probe works
    targets = [hub_gate] + [(a, host_sentinel.port) for a in [gateway(alice_alpha), *host_addresses()]]
    verdicts = _from_index(index, targets)
    assert set(verdicts.values()) == {"TIMEOUT"}, verdicts
    assert host_sentinel.peers == []


def test_the_index_reaches_no_other_project_and_no_workspace(enclave, alice_alpha, bob_beta):
    """RT-PKG04: from alpha's index, beta's index and workspace, and alpha's own workspace beside it."""
    alpha_index, beta_index = _index(enclave, alice_alpha), _index(enclave, bob_beta)
    beta_address = _address(beta_index)
    assert connect(bob_beta, [(beta_address, INDEX_PORT)]) == {(beta_address, INDEX_PORT): "OPEN"}  # it serves
    targets = [(beta_address, INDEX_PORT), (bob_beta.ip, 8888), (alice_alpha.ip, 8888)]
    verdicts = _from_index(alpha_index, targets)
    assert set(verdicts.values()) <= {"TIMEOUT", "ENETUNREACH"}, verdicts
