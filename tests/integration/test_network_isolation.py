"""A workspace can reach the hub and nothing else: not the host, not other networks, not other workspaces.

Every target is a sentinel this test run starts on this machine; each test
first shows its probe can succeed (the hub's port), so a refusal means the
route is closed, not that the probe is broken.
"""

import subprocess
import time

import pytest

from tests.support.sentinel import CONTAINER_LISTENER, HostSentinel, parse_probe, probe_code

pytestmark = pytest.mark.integration


def _gateway(workspace) -> str:
    networks = workspace.container.attrs["NetworkSettings"]["Networks"]
    (settings,) = networks.values()
    return settings["Gateway"]


def _host_addresses() -> list[str]:
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in out if "." in a]


@pytest.fixture(scope="module")
def host_sentinel():
    sentinel = HostSentinel()
    yield sentinel
    sentinel.close()


@pytest.fixture(scope="module")
def sentinel_container(enclave, docker_client, workspace_image):
    instance = enclave.settings.instance
    network = docker_client.networks.create(f"{instance}-sentinel-net", driver="bridge",
                                            labels={"enclave.instance": instance})
    container = docker_client.containers.run(
        workspace_image, ["python3", "-c", CONTAINER_LISTENER], detach=True, network=network.name,
        name=f"{instance}-sentinel", labels={"enclave.instance": instance, "enclave.kind": "sentinel"},
        user="1000:1000",
    )
    deadline = time.monotonic() + 30
    while b"LISTENING" not in container.logs() and time.monotonic() < deadline:
        time.sleep(0.2)
    container.reload()
    yield container, container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]


def test_workspace_reaches_the_hub_api_and_no_other_host_port(alice_alpha, enclave, host_sentinel):
    gateway = _gateway(alice_alpha)
    settings = enclave.settings
    targets = [(gateway, settings.hub_port)]
    targets += [(gateway, host_sentinel.port), (gateway, settings.proxy_api_port), (gateway, settings.public_port)]
    targets += [(address, host_sentinel.port) for address in _host_addresses()]
    targets += [(address, settings.hub_port) for address in _host_addresses()]
    results = parse_probe(alice_alpha.run(probe_code(targets)))
    assert results.pop((gateway, settings.hub_port)) == "OPEN"
    assert all(verdict != "OPEN" for verdict in results.values()), results
    assert host_sentinel.peers == []


def test_workspace_cannot_reach_a_server_on_another_docker_network(alice_alpha, sentinel_container):
    container, address = sentinel_container
    # Control: the sentinel answers the host.
    subprocess.run(["python3", "-c", f"import socket; socket.create_connection(({address!r}, 9999), 5).close()"],
                   check=True)
    results = parse_probe(alice_alpha.run(probe_code([(address, 9999)])))
    assert results[(address, 9999)] != "OPEN"
    connected = [line.split()[1] for line in container.logs().decode().splitlines() if line.startswith("CONNECTED")]
    assert alice_alpha.ip not in connected
    assert len(connected) == 1  # only the host's control connection


def test_workspace_cannot_reach_another_projects_workspace(alice_alpha, bob_beta):
    results = parse_probe(alice_alpha.run(probe_code([(bob_beta.ip, 8888)])))
    assert results[(bob_beta.ip, 8888)] != "OPEN"
    assert bob_beta.run("print('still serving')").strip() == "still serving"


def test_workspaces_of_one_project_cannot_reach_each_other(alice_alpha, carol_alpha):
    results = parse_probe(alice_alpha.run(probe_code([(carol_alpha.ip, 8888)])))
    assert results[(carol_alpha.ip, 8888)] != "OPEN"


def test_docker_socket_is_absent(alice_alpha):
    out = alice_alpha.run(
        "import os, stat\n"
        "print([p for p in ('/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock')"
        " if os.path.exists(p)])\n"
        "sockets = []\n"
        "for top in ('/run', '/var/run', '/tmp', '/home', '/data', '/'):\n"
        "    for root, dirs, files in os.walk(top):\n"
        "        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/dev')]\n"
        "        for f in files:\n"
        "            try:\n"
        "                if stat.S_ISSOCK(os.lstat(os.path.join(root, f)).st_mode): sockets.append(f)\n"
        "            except OSError: pass\n"
        "print(sorted(set(sockets)))\n"
    )
    named, sockets = out.split("\n")[:2]
    assert named == "[]"
    assert "docker" not in sockets and "containerd" not in sockets


def test_workspace_hub_token_cannot_list_users(alice_alpha):
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


def test_first_spawns_of_a_project_racing_for_its_network_all_get_it(enclave, docker_client):
    from concurrent.futures import ThreadPoolExecutor

    from enclave.isolation.network import ensure_project_network

    instance = enclave.settings.instance
    with ThreadPoolExecutor(6) as pool:
        networks = list(pool.map(lambda _: ensure_project_network(docker_client, instance, "racing"), range(6)))
    assert len({n.name for n in networks}) == 1
    assert len(docker_client.networks.list(names=[networks[0].name])) == 1
