"""Swarm mode on a single-node swarm on this machine (enclave/swarm/, docs/scaling.md).

The real hub runs in its container (images/hub/, started by `swarm_up`), spawns each workspace as a
swarm service through its real spawner, and the tests reach a real kernel through the hub's edge and
proxy. Everything carries the instance name `encswarm-<hex>`; services, containers, networks and the
swarm itself (only if this module created it) are removed at the end, also after a failure.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import docker
import pytest
import requests

from enclave.spawner import hardening
from enclave.state.audit_query import AuditFilter, as_record, find_events
from enclave.swarm import deploy, networks
from enclave.swarm.settings import SwarmSettings
from tests.support.enclave import build_enclave, cleanup_instance, free_port, make_settings, seed
from tests.support.fixtures import built_image
from tests.support.hub import trust
from tests.support.sentinel import HostSentinel, parse_probe, probe_code
from tests.support.workspaces import Workspace

OPEN = "OPEN"


@pytest.fixture(scope="module")
def hub_image(docker_client):
    return built_image(docker_client, "hub")


def _wait_for_login_page(enclave, container: str, timeout: float = 120) -> None:
    client = docker.from_env()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hub = client.containers.get(container)
        if hub.status not in ("created", "running"):
            raise RuntimeError(f"the hub container is {hub.status}:\n{hub.logs(tail=60).decode(errors='replace')}")
        if Path(enclave.ca_file).exists():
            trust(enclave.url, enclave.ca_file)
            try:
                if requests.get(f"{enclave.url}/hub/login", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
        time.sleep(0.5)
    raise RuntimeError(
        f"the hub did not answer within {timeout:.0f} s:\n"
        f"{client.containers.get(container).logs(tail=60).decode(errors='replace')}"
    )


@pytest.fixture(scope="module")
def swarm_enclave(request, docker_client, workspace_image, hub_image, tmp_path_factory):
    root = tmp_path_factory.mktemp("swarm")
    settings = make_settings(root, prefix="encswarm")
    enclave = build_enclave(root, settings)
    failed_before = request.session.testsfailed
    hub_name = deploy.hub_container_name(settings.instance)
    try:
        seed(enclave, root / "data")
        # On the single node: a manager. (A swarm that was here before keeps its own node labels.)
        hub = deploy.swarm_up(
            settings, SwarmSettings(placement=["node.role==manager"], encrypted=True), publish_ip="127.0.0.1"
        )
        enclave.url = hub.url
        _wait_for_login_page(enclave, hub.container)
        yield enclave
    finally:
        if request.session.testsfailed > failed_before:
            try:
                print(
                    "----- hub container log (tail) -----\n"
                    + docker_client.containers.get(hub_name).logs(tail=120).decode(errors="replace")
                )
            except docker.errors.NotFound:
                pass
        deploy.swarm_down(settings)
        cleanup_instance(settings.instance)


@pytest.fixture(scope="module")
def alice(swarm_enclave):
    workspace = Workspace(swarm_enclave, "alice", "alpha")
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def carol(swarm_enclave):
    workspace = Workspace(swarm_enclave, "carol", "alpha")
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def bob(swarm_enclave):
    workspace = Workspace(swarm_enclave, "bob", "beta")
    yield workspace
    workspace.close()


def _service(enclave, project: str, user: str):
    return docker.from_env().services.get(f"{enclave.settings.instance}-ws-{project}-{user}")


def _hub_address_on(enclave, network: str) -> str:
    hub = docker.from_env().containers.get(deploy.hub_container_name(enclave.settings.instance))
    return hub.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]


def test_the_workspace_is_a_swarm_service_alone_with_the_hub_on_an_internal_overlay(swarm_enclave, alice):
    settings = swarm_enclave.settings
    overlay = networks.overlay_name(settings.instance, "alpha", "alice")
    service = _service(swarm_enclave, "alpha", "alice")
    net = docker.from_env().networks.get(overlay)
    assert [n["Target"] for n in service.attrs["Spec"]["TaskTemplate"]["Networks"]] == [net.id]
    assert (net.attrs["Driver"], net.attrs["Scope"], net.attrs["Internal"], net.attrs["Attachable"]) == (
        "overlay",
        "swarm",
        True,
        True,
    )
    assert "encrypted" in net.attrs["Options"]
    container = alice.container
    assert container.labels["com.docker.swarm.service.name"] == service.name
    assert set(container.attrs["NetworkSettings"]["Networks"]) == {overlay}
    members = {c["Name"] for key, c in net.attrs["Containers"].items() if not key.startswith("lb-")}
    assert members == {container.name, deploy.hub_container_name(settings.instance)}
    assert alice.run("import socket; print(socket.gethostname())").strip() == "alpha-workspace"


def test_the_kernel_reads_its_projects_extract_read_only_and_nothing_else(swarm_enclave, alice):
    out = alice.run(
        "import os, polars as pl\n"
        "print(sorted(os.listdir('/data')), sorted(os.listdir('/data/cohort')))\n"
        "table = sorted(f for f in os.listdir('/data/cohort/v1') if f.endswith('.parquet'))[0]\n"
        "print(pl.read_parquet('/data/cohort/v1/' + table).height > 0)\n"
        "for attempt in (lambda: open('/data/cohort/v1/intruder.txt', 'w'),\n"
        "                lambda: os.remove('/data/cohort/v1/' + table)):\n"
        "    try:\n"
        "        attempt()\n"
        "    except OSError as e:\n"
        "        print(e.strerror)\n"
    )
    assert out.splitlines() == ["['cohort'] ['v1']", "True", "Read-only file system", "Read-only file system"]
    mounts = {m["Destination"]: m for m in alice.container.attrs["Mounts"]}
    projects = swarm_enclave.settings.projects_dir / "alpha"
    assert set(mounts) == {"/home/analyst", "/home/analyst/shared", "/home/analyst/outbox", "/data/cohort/v1", "/tmp"}
    assert Path(mounts["/home/analyst"]["Source"]) == projects / "homes" / "alice"
    data = mounts["/data/cohort/v1"]
    assert data["RW"] is False and "/extracts/alpha/" in data["Source"]


def test_no_route_out_nor_to_other_workspaces_nor_to_the_hubs_other_ports(swarm_enclave, alice, carol, bob):
    settings = swarm_enclave.settings
    client = docker.from_env()
    hub = client.containers.get(deploy.hub_container_name(settings.instance))
    hub_address = _hub_address_on(swarm_enclave, networks.overlay_name(settings.instance, "alpha", "alice"))
    # A listener on all of the hub container's addresses, proven reachable from the host on its uplink.
    spare = free_port()
    hub.exec_run(
        [
            "python3",
            "-c",
            f"import socket,time; s=socket.socket(); s.bind(('0.0.0.0', {spare})); s.listen(8); time.sleep(300)",
        ],
        detach=True,
    )
    uplink = hub.attrs["NetworkSettings"]["Networks"][deploy.hub_network_name(settings.instance)]
    host_address = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()[0]
    sentinel = HostSentinel()
    try:
        deadline = time.monotonic() + 30
        while (
            subprocess.run(
                ["python3", "-c", f"import socket; socket.create_connection(('{uplink['IPAddress']}', {spare}), 2)"],
                capture_output=True,
            ).returncode
            != 0
        ):
            assert time.monotonic() < deadline, "the listener in the hub container did not come up"
            time.sleep(0.5)
        hub_ports = [settings.public_port, settings.proxy_port, settings.proxy_api_port, settings.egress_port, spare]
        targets = (
            [(hub_address, settings.hub_port)]
            + [(hub_address, port) for port in hub_ports]
            + [(host_address, sentinel.port), (uplink["Gateway"], sentinel.port)]
            + [(carol.ip, 8888), (bob.ip, 8888)]
        )
        verdicts = parse_probe(alice.run(probe_code(targets)))
    finally:
        sentinel.close()
    assert verdicts[(hub_address, settings.hub_port)] == OPEN  # the probe can succeed: the hub's API
    closed = {target: verdict for target, verdict in verdicts.items() if target[1] != settings.hub_port}
    assert all(verdict != OPEN for verdict in closed.values()), closed
    assert sentinel.peers == []


def test_the_service_is_confined_like_a_single_host_workspace(alice):
    host = alice.container.attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert host["ReadonlyRootfs"] is True and host["Privileged"] is False and host["Init"] is False
    assert host["IpcMode"] == "private" and host["PidMode"] == "" and host["NetworkMode"] != "host"
    assert host["PidsLimit"] == 256 and host["Memory"] == 1024**3 and host["NanoCpus"] == 1_000_000_000
    assert host["Ulimits"] == [{"Name": "core", "Hard": 0, "Soft": 0}]
    assert host["Dns"] == ["127.0.0.1"] and not host.get("Devices") and not host.get("PortBindings")
    assert alice.container.attrs["Config"]["User"] == "1000:1000"
    status = alice.run(
        "import os\n"
        "fields = dict(l.split(':', 1) for l in open('/proc/self/status'))\n"
        "print(os.getuid(), fields['NoNewPrivs'].strip(), int(fields['CapEff'], 16))\n"
        "print([l.split()[3] for l in open('/proc/mounts') if l.split()[1] == '/tmp'][0])\n"
        "try:\n"
        "    open('/etc/enclave-test', 'w')\n"
        "except OSError as e:\n"
        "    print(e.strerror)\n"
        "print(os.path.exists('/var/run/docker.sock'), os.path.exists('/run/containerd/containerd.sock'))\n"
        # PID 1 is the image's init and, like the server (the kernel's parent), not dumpable: /proc is root's.
        "print(open('/proc/1/cmdline').read().split(chr(0))[0], os.stat('/proc/1/mem').st_uid,"
        " os.stat(f'/proc/{os.getppid()}/mem').st_uid)\n"
    ).splitlines()
    assert status[0] == "1000 1 0"
    assert {"nosuid", "nodev"} <= set(status[1].split(","))
    assert status[2:] == ["Read-only file system", "False False", f"{hardening.IMAGE_INIT} 0 0"]


def test_the_workspaces_hub_token_reaches_its_own_server_record_but_cannot_list_users(alice):
    """Through the hub gate in the hub's container: identity and the server's own activity pass (the gate
    names the workspace by its overlay address), listing users is refused by the gate."""
    out = alice.run(
        "import json, os, urllib.request, urllib.error\n"
        "api = os.environ['JUPYTERHUB_API_URL']\n"
        "headers = {'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN'],\n"
        "           'Content-Type': 'application/json'}\n"
        "now = '2026-12-01T00:00:00.000000Z'\n"
        "activity = json.dumps({'servers': {'alpha': {'last_activity': now}}, 'last_activity': now}).encode()\n"
        "for path, body in (('/user', None), ('/users', None), ('/users/alice/activity', activity)):\n"
        "    try:\n"
        "        request = urllib.request.Request(api + path, data=body, headers=headers)\n"
        "        print(path, urllib.request.urlopen(request).status)\n"
        "    except urllib.error.HTTPError as e:\n"
        "        print(path, e.code, e.headers.get('X-Enclave-Hubgate'))\n"
    )
    assert out.splitlines() == ["/user 200", "/users 403 refused", "/users/alice/activity 200"]


def test_the_swarm_spawner_refuses_a_project_one_is_not_in_and_audits_it(swarm_enclave):
    reply = swarm_enclave.login("tina").start("alpha")
    assert reply.status_code == 403 and "not a member" in reply.text
    assert not docker.from_env().services.list(filters={"name": f"{swarm_enclave.settings.instance}-ws-alpha-tina"})
    with swarm_enclave.ctx.db.reading() as session:
        events = [as_record(e) for e in find_events(session, AuditFilter(user="tina", action="workspace.start"))]
    assert [e["outcome"] for e in events] == ["refused"]


def test_stopping_removes_the_service_and_both_are_audited(swarm_enclave, bob):
    name = f"{swarm_enclave.settings.instance}-ws-beta-bob"
    bob.stop()
    with pytest.raises(docker.errors.NotFound):
        docker.from_env().services.get(name)
    with swarm_enclave.ctx.db.reading() as session:
        events = [as_record(e) for e in find_events(session, AuditFilter(user="bob", action="workspace."))]
    details = [
        (
            e["action"],
            e["outcome"],
            (e["details"] if isinstance(e["details"], dict) else json.loads(e["details"])).get("service"),
        )
        for e in events
    ]
    assert ("workspace.start", "ok", name) in details and ("workspace.stop", "ok", name) in details
