"""Restarts that lose nothing, with real processes: the hub restarts while a kernel computes, and the
workspace, the kernel and the person's session carry on, the edge counting throughout; the edge stops (or is
killed) in the middle of kernel output, and every byte that reached the browser was counted.

An installation of its own: restarting the hub restarts its proxy, which drops every browser's websocket,
and the shared installation's workspaces belong to the other tests."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from datetime import UTC, datetime

import pytest

from enclave import runtime
from enclave.metering.ledger import usage
from harness.kernel import execute_request
from tests.support.enclave import alice_alone
from tests.support.hub import HubUser
from tests.support.kernel import KernelSession

COMPUTING = (
    "import threading, time\n"
    "ticks = [0]\n"
    "def work():\n"
    "    for _ in range(600):\n"
    "        ticks[0] += 1\n"
    "        time.sleep(0.1)\n"
    "threading.Thread(target=work, daemon=True).start()\n"
)


def _ticks(kernel: KernelSession) -> int:
    return int(re.search(r"TICKS (\d+)", kernel.run("print('TICKS', ticks[0])")).group(1))


def _raw(enclave, user: str, project: str) -> int:
    """Bytes the edge relayed to the person from the project today, as its ledger holds them."""
    with enclave.ctx.db.reading() as session:
        return sum(row.raw for row in usage(session, datetime.now(UTC).date(), user, project))


@pytest.fixture
def own_enclave(docker_client, workspace_image, tmp_path):
    with alice_alone(tmp_path, prefix="enctest-restart") as enclave:
        yield enclave


def _started_workspace(enclave) -> tuple[HubUser, KernelSession]:
    alice = enclave.login("alice")
    assert alice.start("alpha").status_code in (201, 202)
    deadline = time.monotonic() + 180
    while not (alice.server("alpha") or {}).get("ready") and time.monotonic() < deadline:
        time.sleep(1)
    token = alice.token()
    return alice, KernelSession(alice.server_url("alpha"), {"Authorization": f"token {token}"})


def test_a_hub_restart_keeps_the_workspace_the_computing_kernel_and_the_session(own_enclave):
    enclave = own_enclave
    alice, kernel = _started_workspace(enclave)
    kernel.run(COMPUTING)
    (running,) = enclave.containers(kind="workspace", project="alpha", user="alice")
    container, kernel_id = running.id, kernel.kernel_id
    before = _ticks(kernel)
    relayed_before = _raw(enclave, "alice", "alpha")

    kernel.ws.close()  # the browser's websocket goes with the proxy; the kernel stays
    hub = runtime.pid_file(enclave.settings, runtime.processes(enclave.settings)[1])
    hub_pid = runtime.running_pid(hub)
    runtime.terminate(hub)
    runtime.terminate(enclave.settings.hub_dir / "proxy.pid")
    assert runtime.start(enclave.settings, hub_args=enclave.hub_args) == ["hub gate", "edge"]  # only the hub
    assert runtime.running_pid(hub) not in (None, hub_pid)

    # The same container and the same kernel, still computing; the person's hub session still valid.
    assert alice.server("alpha")["ready"]
    (running,) = enclave.containers(kind="workspace", project="alpha", user="alice")
    assert running.id == container and running.status == "running"
    kernel = KernelSession(alice.server_url("alpha"), {"Authorization": f"token {alice.token()}"}, kernel_id=kernel_id)
    try:
        after = _ticks(kernel)
        time.sleep(1)
        assert _ticks(kernel) > after > before  # the thread the kernel started before the restart goes on
        kernel.run("import os; print(os.urandom(10000).hex())")  # 20,000 characters that do not compress
    finally:
        kernel.close()
    deadline = time.monotonic() + 60  # the edge writes its ledger every few seconds
    while _raw(enclave, "alice", "alpha") < relayed_before + 20000 and time.monotonic() < deadline:
        time.sleep(1)
    assert _raw(enclave, "alice", "alpha") >= relayed_before + 20000  # the edge metered throughout


STREAMING = (
    "import os, time\n"
    "for _ in range(200):\n"
    "    print(os.urandom(2000).hex(), flush=True)\n"  # 4,000 characters that do not compress, 20 a second
    "    time.sleep(0.05)\n"
)


def _kill(pid_path) -> None:
    """Stop the edge as a crash or the OOM killer would: no chance to write anything."""
    pid = runtime.running_pid(pid_path)
    os.kill(pid, signal.SIGKILL)
    while runtime.alive(pid):
        time.sleep(0.1)


@pytest.mark.parametrize("stop", [runtime.terminate, _kill], ids=["terminated", "killed"])
def test_an_edge_restart_mid_stream_leaves_nothing_it_relayed_uncounted(own_enclave, stop):
    enclave = own_enclave
    alice, kernel = _started_workspace(enclave)
    relayed_before = _raw(enclave, "alice", "alpha")
    received = []  # what reached this browser stand-in before the edge went away

    def read():
        kernel.ws.send(execute_request(STREAMING, username="alice")[1])
        try:
            while True:
                frame = kernel.ws.recv()
                if not frame:
                    return
                received.append(len(frame.encode() if isinstance(frame, str) else frame))
        except Exception:  # noqa: BLE001 - the edge closed the connection: that is the point
            return

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 30
    while sum(received) < 40_000 and time.monotonic() < deadline:
        time.sleep(0.1)
    edge = runtime.pid_file(enclave.settings, runtime.processes(enclave.settings)[2])
    stop(edge)  # mid-stream: as an upgrade or a restart stops it, or a crash
    left_behind = list((enclave.settings.state_path / "edge" / "journal").glob("*.journal"))
    # Stopped, the edge closed the websocket (going away), wrote its counts and removed its journal itself.
    assert (left_behind == []) == (stop is runtime.terminate)
    reader.join(30)
    assert not reader.is_alive() and sum(received) >= 40_000
    assert runtime.start(enclave.settings, hub_args=enclave.hub_args) == ["hub gate", "hub"]  # only the edge
    # Everything that reached the browser was counted before it was sent: written to the ledger when the edge
    # stopped, or (killed) kept in its journal, which the next edge adds to the ledger as it starts.
    deadline = time.monotonic() + 30
    while _raw(enclave, "alice", "alpha") < relayed_before + sum(received) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _raw(enclave, "alice", "alpha") >= relayed_before + sum(received)
    # Killed, its journal is gone once the next edge had its counts in the ledger.
    deadline = time.monotonic() + 30
    while any(path.exists() for path in left_behind) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(path.exists() for path in left_behind)
