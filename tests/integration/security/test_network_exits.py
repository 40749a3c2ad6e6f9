"""Network exits from a workspace: the host's services, other networks, the hub's API.

Every target is a sentinel this test run starts on this machine, or a port of this run's own
enclave. Each test first shows its probe can succeed (the hub's port on the project gateway opens),
so a failure means the route is closed, not that the probe is broken. The host firewall
(ENCLAVE-INPUT) DROPS what it refuses, so a refused host port reads TIMEOUT; ECONNREFUSED would
mean the packet reached the host (see probes.py).
"""

import subprocess
import time

import pytest

from tests.integration.security.probes import connect, gateway, host_addresses
from tests.support.sentinel import CONTAINER_LISTENER, HostSentinel


@pytest.fixture(scope="module")
def host_sentinel():
    sentinel = HostSentinel()
    yield sentinel
    sentinel.close()


@pytest.fixture(scope="module")
def sentinel_container(enclave, docker_client, workspace_image):
    instance = enclave.settings.instance
    network = docker_client.networks.create(
        f"{instance}-sentinel-net", driver="bridge", labels={"enclave.instance": instance}
    )
    container = docker_client.containers.run(
        workspace_image,
        ["python3", "-c", CONTAINER_LISTENER],
        detach=True,
        network=network.name,
        name=f"{instance}-sentinel",
        labels={"enclave.instance": instance, "enclave.kind": "sentinel"},
        user="1000:1000",
    )
    deadline = time.monotonic() + 30
    while b"LISTENING" not in container.logs() and time.monotonic() < deadline:
        time.sleep(0.2)
    container.reload()
    yield container, container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]


def hub_port_opens(workspace) -> None:
    """The control: the one permitted host port answers, so the probe itself works."""
    hub = (gateway(workspace), workspace.enclave.settings.hub_port)
    assert connect(workspace, [hub]) == {hub: "OPEN"}


def test_a_sentinel_on_this_host_by_its_own_addresses_is_unreachable(alice_alpha, host_sentinel):
    """RT-01: connect to a sentinel server on this machine, outside the project network, by the host's IPs."""
    hub_port_opens(alice_alpha)
    targets = [(address, host_sentinel.port) for address in host_addresses()]
    assert targets, "this machine has no IPv4 address to aim at"
    verdicts = connect(alice_alpha, targets)
    assert set(verdicts.values()) == {"TIMEOUT"}, verdicts  # dropped by ENCLAVE-INPUT, not refused
    assert host_sentinel.peers == []


def test_other_ports_on_the_hubs_address_are_unreachable(alice_alpha, enclave, host_sentinel):
    """RT-02: reach the hub's address (the project gateway) on ports other than the hub's API."""
    hub_port_opens(alice_alpha)
    address = gateway(alice_alpha)
    targets = [(address, host_sentinel.port), (address, enclave.settings.public_port)]
    # The hub's own port on every other address of this host (other bridges' gateways, the main address).
    targets += [(a, enclave.settings.hub_port) for a in host_addresses() if a != address]
    verdicts = connect(alice_alpha, targets)
    assert set(verdicts.values()) == {"TIMEOUT"}, verdicts
    assert host_sentinel.peers == []


def test_the_proxys_api_port_is_unreachable(alice_alpha, enclave):
    """RT-03: reach configurable-http-proxy's API (routes can be rewritten there) from the workspace."""
    hub_port_opens(alice_alpha)
    port = enclave.settings.proxy_api_port
    targets = [(gateway(alice_alpha), port)] + [(a, port) for a in host_addresses()]
    verdicts = connect(alice_alpha, targets)
    assert set(verdicts.values()) == {"TIMEOUT"}, verdicts


def test_the_airlock_service_port_is_unreachable(alice_alpha, enclave):
    """RT-04: reach the egress service (its API and database behind it) over the network from the workspace."""
    hub_port_opens(alice_alpha)
    port = enclave.settings.egress_port
    # The airlock answers on the host (so the port is live) ...
    assert (
        subprocess.run(
            ["python3", "-c", f"import socket; socket.create_connection(('127.0.0.1', {port}), 5)"], capture_output=True
        ).returncode
        == 0
    )
    # ... and is dropped from the workspace, on the gateway and on every host address.
    targets = [(gateway(alice_alpha), port)] + [(a, port) for a in host_addresses()]
    verdicts = connect(alice_alpha, targets)
    assert set(verdicts.values()) == {"TIMEOUT"}, verdicts


def test_a_server_on_another_docker_network_is_unreachable(alice_alpha, sentinel_container):
    """RT-05: connect to a sentinel container on another Docker network by its IP."""
    container, address = sentinel_container
    # Control: the sentinel answers the host.
    subprocess.run(
        ["python3", "-c", f"import socket; socket.create_connection(({address!r}, 9999), 5).close()"], check=True
    )
    verdicts = connect(alice_alpha, [(address, 9999)])
    # Dropped by Docker's isolation rules for internal networks (or no route, on engines that give none).
    assert verdicts[(address, 9999)] in ("TIMEOUT", "ENETUNREACH")
    connected = [line.split()[1] for line in container.logs().decode().splitlines() if line.startswith("CONNECTED")]
    assert alice_alpha.ip not in connected
    assert len(connected) == 1  # only the host's control connection


def test_the_hubs_own_port_is_closed_to_the_network_around_the_edge(enclave, sentinel_container, host_sentinel):
    """RT-08: from a machine outside the enclave (a container on another network), use the hub's port directly."""
    container, _ = sentinel_container
    network = next(iter(container.attrs["NetworkSettings"]["Networks"].values()))
    probe = (
        "import socket\ns = socket.socket(); s.settimeout(3)\n"
        "try:\n    s.connect(({host!r}, {port})); print('OPEN')\n"
        "except socket.timeout:\n    print('TIMEOUT')\nexcept OSError as e:\n    print(e.errno)\n"
    )
    host = network["Gateway"]  # the host, as a neighbour on that network sees it
    # Control: the same neighbour reaches a listener this test runs on all of the host's addresses.
    control = container.exec_run(["python3", "-c", probe.format(host=host, port=host_sentinel.port)])
    assert control.output.decode().strip() == "OPEN"
    # The hub listens on every address (each project gateway is one), but only loopback and project
    # bridges may reach it: anything else would talk to the hub without TLS, refusals or metering.
    hub = container.exec_run(["python3", "-c", probe.format(host=host, port=enclave.settings.hub_port)])
    assert hub.output.decode().strip() == "TIMEOUT"


def test_the_workspaces_hub_token_cannot_list_users(alice_alpha):
    """RT-06: use the hub API token found in the workspace's environment to list the hub's users."""
    out = alice_alpha.run(
        "import os, urllib.request, urllib.error\n"
        "request = urllib.request.Request(os.environ['JUPYTERHUB_API_URL'] + '/users',\n"
        "    headers={'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']})\n"
        "try:\n"
        "    urllib.request.urlopen(request, timeout=10); print('LISTED')\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code)\n"
    )
    assert out.strip() == "403"
