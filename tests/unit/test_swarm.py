"""Swarm mode's pure parts: the service spec from the confinement policy, the overlay check, the hub's
own firewall rules and the hub container's settings. The running service is checked against them in
tests/integration/test_swarm.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets import TraitError

from enclave.confinement.mounts import DatasetMount
from enclave.errors import IsolationError
from enclave.settings import EnclaveSettings
from enclave.spawner import hardening
from enclave.spawner.plan import WorkspacePlan
from enclave.swarm import deploy, hub_firewall, networks, service
from enclave.swarm.settings import DEFAULT_PLACEMENT, SwarmSettings


def _plan() -> WorkspacePlan:
    return WorkspacePlan(
        user="alice",
        project="alpha",
        image_kind="workspace",
        mem_limit="1G",
        cpu_limit=0.5,
        pids_limit=256,
        datasets=(DatasetMount("cohort@v1", Path("/x/alpha/cohort/v1"), "/data/cohort/v1"),),
        home=Path("/h"),
        shared=Path("/s"),
        outbox=Path("/o"),
    )


def _create_kwargs(**overrides) -> dict:
    arguments = dict(
        name="inst-ws-alpha-alice",
        instance="inst",
        image="enclave-workspace:abc",
        env={"JUPYTERHUB_API_TOKEN": "t"},
        command=["jupyterhub-singleuser"],
        scratch_size="256m",
        network="inst-ov-alpha-alice",
        placement=["node.labels.enclave.workspaces==true"],
    )
    return service.create_kwargs(_plan(), **{**arguments, **overrides})


def test_every_confinement_setting_has_a_swarm_equivalent_or_a_stated_gap():
    assert set(hardening.host_config(_plan(), "256m")) == set(service.EQUIVALENTS)


def test_the_service_runs_the_server_without_new_privileges_capabilities_or_a_writable_root():
    spec = _create_kwargs()["task_template"]["ContainerSpec"]
    assert spec["Command"] == [hardening.IMAGE_INIT, "--", "setpriv", "--no-new-privs"]
    assert spec["Args"] == ["jupyterhub-singleuser"]
    assert spec["CapabilityDrop"] == ["ALL"] and "CapabilityAdd" not in spec
    assert spec["ReadOnly"] is True and spec["Init"] is False  # the image's execute-only init is PID 1
    assert spec["User"] == hardening.WORKSPACE_UID
    assert spec["Ulimits"] == [{"Name": "core", "Soft": 0, "Hard": 0}]
    assert spec["DNSConfig"]["Nameservers"] == [hardening.DNS_NOWHERE]
    assert spec["Labels"] == hardening.labels("inst", _plan())


def test_the_service_mounts_exactly_the_plans_folders_and_the_data_read_only():
    mounts = {m["Target"]: m for m in _create_kwargs()["task_template"]["ContainerSpec"]["Mounts"]}
    expected = {m["target"]: m for m in hardening.mounts(_plan())}
    assert set(mounts) == set(expected) | {"/tmp"}
    for target, m in expected.items():
        assert (mounts[target]["Type"], mounts[target]["Source"]) == ("bind", m["source"])
        assert mounts[target]["ReadOnly"] is m["read_only"]
    assert mounts["/data/cohort/v1"]["ReadOnly"] is True
    assert mounts["/tmp"]["Type"] == "tmpfs"
    assert mounts["/tmp"]["TmpfsOptions"] == {"SizeBytes": 256 * 1024 * 1024, "Mode": 0o1777}


def test_the_service_has_limits_no_restart_one_network_no_published_port_and_its_placement():
    kwargs = _create_kwargs()
    task = kwargs["task_template"]
    assert task["Resources"]["Limits"] == {"NanoCPUs": 500_000_000, "MemoryBytes": 1024**3, "Pids": 256}
    assert task["RestartPolicy"]["Condition"] == "none"
    assert [n["Target"] for n in task["Networks"]] == ["inst-ov-alpha-alice"]
    assert task["Placement"]["Constraints"] == ["node.labels.enclave.workspaces==true"]
    assert kwargs["endpoint_spec"] == {"Mode": "dnsrr"}
    assert kwargs["labels"]["enclave.kind"] == "workspace"


def _overlay(**changes) -> dict:
    attrs = {
        "Driver": "overlay",
        "Internal": True,
        "Attachable": True,
        "Options": {"encrypted": ""},
        "Labels": networks.labels("inst", "alpha", "alice"),
    }
    return {**attrs, **changes}


def test_an_isolated_workspace_overlay_passes_the_check():
    assert networks.isolation_problems(_overlay(), encrypted=True) == []
    assert networks.isolation_problems(_overlay(Options={}), encrypted=False) == []


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"Internal": False}, "not internal"),
        ({"Driver": "bridge"}, "not overlay"),
        ({"Attachable": False}, "hub cannot attach"),
        ({"Labels": {}}, "did not create it"),
        ({"Options": {}}, "not encrypted"),
    ],
)
def test_a_network_that_is_not_a_workspace_overlay_is_refused(changes, problem):
    assert any(problem in p for p in networks.isolation_problems(_overlay(**changes), encrypted=True))


def test_each_workspace_has_its_own_overlay():
    names = {
        networks.overlay_name("inst", p, u) for p, u in [("alpha", "alice"), ("alpha", "carol"), ("beta", "alice")]
    }
    assert len(names) == 3


def test_the_hub_firewall_admits_only_the_hub_port_from_anything_but_loopback_and_the_uplink():
    rules = hub_firewall.rules("eth0", 8081)
    assert rules[-1] == ["-j", "DROP"]
    accepted_new = [r for r in rules[:-1] if "-i" not in r and "ESTABLISHED,RELATED" not in r]
    assert accepted_new == [["-p", "tcp", "--dport", "8081", "-m", "conntrack", "--ctstate", "NEW", "-j", "RETURN"]]
    assert [r[1] for r in rules if r[0] == "-i"] == ["lo", "eth0"]


def test_the_uplink_is_the_default_routes_interface(tmp_path):
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\neth1\t0001000A\t00000000\t0001\neth0\t00000000\t010012AC\t0003\n"
    )
    assert hub_firewall.uplink_interface(str(table)) == "eth0"


def test_without_a_default_route_the_hub_refuses_to_guess_its_uplink(tmp_path):
    table = tmp_path / "route"
    table.write_text("Iface\tDestination\tGateway\tFlags\neth1\t0001000A\t00000000\t0001\n")
    with pytest.raises(IsolationError, match="no default route"):
        hub_firewall.uplink_interface(str(table))


def test_the_hub_container_runs_the_swarm_spawner_on_all_its_addresses(tmp_path):
    settings = EnclaveSettings(
        state_dir=str(tmp_path), instance="inst", public_ip="127.0.0.1", workspace_mem_limit="2G"
    )
    env = deploy.hub_environment(settings, SwarmSettings(placement=["node.role==worker"]), "inst-hub")
    assert env["ENCLAVE_SPAWNER"] == "enclave-swarm" and env["ENCLAVE_PUBLIC_IP"] == "0.0.0.0"
    assert env["ENCLAVE_STATE_DIR"] == settings.state_dir  # the same path on the node and in the hub
    assert env["ENCLAVE_SWARM_HUB_CONTAINER"] == "inst-hub"
    assert env["ENCLAVE_SWARM_PLACEMENT"] == "node.role==worker"
    assert env["ENCLAVE_REQUIRE_SECOND_FACTOR"] == ("true" if settings.require_second_factor else "false")
    assert "--EnclaveSettings.workspace_mem_limit=2G" in deploy.hub_arguments(settings)


def test_placement_comes_from_the_environment_or_the_labelled_nodes(monkeypatch):
    monkeypatch.delenv("ENCLAVE_SWARM_PLACEMENT", raising=False)
    assert SwarmSettings().placement == [DEFAULT_PLACEMENT]
    monkeypatch.setenv("ENCLAVE_SWARM_PLACEMENT", "node.role==worker; node.labels.zone==a")
    assert SwarmSettings().placement == ["node.role==worker", "node.labels.zone==a"]


def test_the_spawner_setting_accepts_only_known_spawners(tmp_path):
    assert EnclaveSettings(state_dir=str(tmp_path), spawner="enclave-swarm").spawner == "enclave-swarm"
    with pytest.raises((TraitError, ValueError), match="use .enclave. or .enclave-swarm."):
        EnclaveSettings(state_dir=str(tmp_path), spawner="kubernetes")
