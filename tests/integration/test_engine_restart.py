"""The Docker engine restarts while a workspace runs a kernel, and nothing is lost (issue 11, item 2).

With live-restore on (scripts/ensure-docker.sh writes it, enclave/engine/), dockerd stops with TERM as a
package upgrade or an operator stops it, and is started again the way ensure-docker.sh starts it. The
workspace's container is the same process throughout, its kernel keeps its variables and its running
thread, answers even while no engine runs, the hub reaches it afterwards, the edge goes on metering, and
the installation's firewall rules are as they were.

An installation of its own (as tests/integration/test_restarts.py): the engine is the shared one, so this
disturbs every container on it for the seconds it is down; with live-restore they all keep running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest

from enclave.engine import daemon_config
from enclave.isolation import firewall
from enclave.isolation.bridges import BRIDGE_PREFIX
from enclave.metering.ledger import usage
from tests.support.enclave import alice_alone
from tests.support.kernel import KernelSession
from tests.support.workspaces import Workspace

REPO = Path(__file__).resolve().parents[2]

COMPUTING = (
    "import threading, time\n"
    "remembered = {'answer': 41}\n"
    "ticks = [0]\n"
    "def work():\n"
    "    for _ in range(1200):\n"
    "        ticks[0] += 1\n"
    "        time.sleep(0.1)\n"
    "threading.Thread(target=work, daemon=True).start()\n"
)


def _raw(enclave, user: str, project: str) -> int:
    """Bytes the edge relayed to the person from the project today, as its ledger holds them."""
    with enclave.ctx.db.reading() as session:
        return sum(row.raw for row in usage(session, datetime.now(UTC).date(), user, project))


def _iptables(chain: str) -> list[str]:
    return subprocess.run(["iptables", "-S", chain], capture_output=True, text=True).stdout.splitlines()


def _rules(bridge: str) -> list[str]:
    """The installation's rules in the enclave's chains (other installations' come and go meanwhile), the
    chains' common tail, and Docker's hook into them."""
    chains = (firewall.CHAIN, firewall.FORWARD_CHAIN)
    ours = [r for c in chains for r in _iptables(c) if bridge in r or f"{BRIDGE_PREFIX}+" in r]
    return ours + _iptables("DOCKER-USER")


def _stop_engine(timeout: float = 90) -> None:
    pid = daemon_config.engine_pid(daemon_config.load())
    assert pid, "no dockerd runs from this machine's pid file"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists(), f"dockerd (pid {pid}) did not stop within {timeout:.0f} s"


@pytest.fixture
def own_enclave(docker_client, workspace_image, tmp_path):
    with alice_alone(tmp_path, prefix="enctest-engine") as enclave:
        yield enclave


def test_an_engine_restart_keeps_the_workspace_its_kernel_the_hubs_reach_and_the_metering(own_enclave, docker_client):
    enclave = own_enclave
    info = docker_client.info()
    assert info["LiveRestoreEnabled"], (
        "This engine runs without live-restore, so a restart would stop every container: run "
        "scripts/ensure-docker.sh (or 'enclave swarm down' if a swarm turned it off)."
    )
    alice = Workspace(enclave, "alice", "alpha")
    try:
        alice.run(COMPUTING)
        container = alice.container
        container_id, first_process = container.id, container.attrs["State"]["Pid"]
        kernel_id = alice.kernel.kernel_id
        relayed_before = _raw(enclave, "alice", "alpha")
        network = docker_client.networks.get(f"{enclave.settings.instance}-net-alpha")
        bridge = network.attrs["Options"]["com.docker.network.bridge.name"]
        rules_before = _rules(bridge)
        assert [r for r in rules_before if bridge in r and "ACCEPT" in r], rules_before  # the hub's rule, at least

        _stop_engine()
        # No engine: the kernel still computes and answers, through the same websocket, hub and edge.
        assert alice.run("print(remembered['answer'] + 1)").strip() == "42"
        subprocess.run(["bash", str(REPO / "scripts" / "ensure-docker.sh")], check=True, timeout=180)

        client = docker.from_env()
        assert client.info()["LiveRestoreEnabled"]
        restored = client.containers.get(container_id)
        assert restored.status == "running" and restored.attrs["State"]["Pid"] == first_process  # never restarted
        assert _rules(bridge) == rules_before  # the engine rewrote its own rules, and left the enclave's alone

        # The hub reaches the same server and kernel; its thread ran on through the restart.
        assert alice.user.server("alpha")["ready"]
        headers = {"Authorization": f"token {alice.token}"}
        again = KernelSession(alice.user.server_url("alpha"), headers, kernel_id=kernel_id)
        try:
            before = int(again.run("print(ticks[0])"))
            time.sleep(1)
            assert int(again.run("print(ticks[0])")) > before > 0
            assert again.run("print(remembered['answer'])").strip() == "41"
            again.run("import os; print(os.urandom(10000).hex())")  # 20,000 characters that do not compress
        finally:
            again.ws.close()  # the kernel is alice's, closed with her workspace below
    finally:
        alice.close()
    deadline = time.monotonic() + 60  # the edge writes its ledger every few seconds
    while _raw(enclave, "alice", "alpha") < relayed_before + 20000 and time.monotonic() < deadline:
        time.sleep(1)
    assert _raw(enclave, "alice", "alpha") >= relayed_before + 20000  # metered throughout
