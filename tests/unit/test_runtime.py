"""enclave.runtime's process handling, with real processes: session of their own, pid files, TERM then KILL."""

from __future__ import annotations

import os
import sys
import time

import pytest

from enclave import runtime
from enclave.settings import EnclaveSettings


def settings_in(tmp_path, **overrides) -> EnclaveSettings:
    return EnclaveSettings(state_dir=str(tmp_path / "state"), instance="inst", **overrides)


def sleeper(tmp_path, code: str = "import time; time.sleep(600)") -> tuple[int, os.PathLike]:
    pid_path = tmp_path / "sleeper.pid"
    pid = runtime.launch([sys.executable, "-c", code], tmp_path / "sleeper.log", pid_path, tmp_path, dict(os.environ))
    return pid, pid_path


def test_a_launched_process_runs_in_a_session_of_its_own_with_its_pid_on_file(tmp_path):
    pid, pid_path = sleeper(tmp_path)
    try:
        assert runtime.running_pid(pid_path) == pid
        assert os.getsid(pid) == pid != os.getsid(0)  # outlives its caller's session
    finally:
        runtime.terminate(pid_path, timeout=5)
    assert runtime.running_pid(pid_path) is None and not pid_path.exists()


def test_a_process_that_ignores_term_is_killed_after_the_timeout(tmp_path):
    ignores = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
        "time.sleep(600)"
    )
    pid, pid_path = sleeper(tmp_path, ignores)
    deadline = time.monotonic() + 30
    while "ready" not in (tmp_path / "sleeper.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    started = time.monotonic()
    runtime.terminate(pid_path, timeout=1)
    assert not runtime.alive(pid)
    assert 1 <= time.monotonic() - started < 15


def test_a_process_that_ended_is_not_running_and_its_log_is_kept(tmp_path):
    pid, pid_path = sleeper(tmp_path, "print('bye')")
    deadline = time.monotonic() + 30
    while runtime.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert runtime.running_pid(pid_path) is None
    assert runtime.tail(tmp_path / "sleeper.log") == "bye"


def test_waiting_for_the_login_page_stops_at_once_when_a_process_died(tmp_path):
    started = time.monotonic()
    with pytest.raises(runtime.StartFailed, match="the edge exited"):
        runtime.wait_for_login_page("https://127.0.0.1:9/hub/login", None, lambda: "the edge exited", timeout=60)
    assert time.monotonic() - started < 5


def test_an_installation_that_never_started_is_stopped_and_stopping_it_is_harmless(tmp_path):
    settings = settings_in(tmp_path)
    assert runtime.status(settings) == {"hub gate": None, "hub": None, "edge": None}
    settings.prepare_state_dir()
    runtime.stop(settings, timeout=1)
    assert runtime.status(settings) == {"hub gate": None, "hub": None, "edge": None}


def test_processes_start_gate_first_hub_with_the_real_config_and_its_options_then_edge(tmp_path):
    gate, hub, edge = runtime.processes(settings_in(tmp_path), hub_args=["--Opt=1"])
    assert gate.argv[1:] == ("-m", "enclave.hubgate") and edge.argv[1:] == ("-m", "enclave.edge")
    assert hub.argv[1:] == ("-f", str(runtime.HUB_CONFIG), "--Opt=1") and runtime.HUB_CONFIG.is_file()


def test_the_processes_are_told_which_installation_they_belong_to(tmp_path, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/tmp/test-cas.pem")
    settings = settings_in(tmp_path, public_port=9400, hub_port=9401, egress_port=9402)
    env = runtime.environment(settings)
    assert env["ENCLAVE_STATE_DIR"] == settings.state_dir and env["ENCLAVE_INSTANCE"] == "inst"
    assert (env["ENCLAVE_PUBLIC_PORT"], env["ENCLAVE_HUB_PORT"], env["ENCLAVE_EGRESS_PORT"]) == ("9400", "9401", "9402")
    assert "REQUESTS_CA_BUNDLE" not in env  # the caller's trust store for its own clients stays with it
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)


def test_logs_and_pid_files_live_in_the_state_folder(tmp_path):
    settings = settings_in(tmp_path)
    gate, hub, edge = runtime.processes(settings)
    assert [runtime.log_file(settings, p).name for p in (gate, hub, edge)] == ["hubgate.log", "hub.log", "edge.log"]
    assert runtime.pid_file(settings, hub) == settings.hub_dir / "jupyterhub.pid"


def test_the_login_page_is_probed_on_this_machine(tmp_path):
    assert (
        runtime.login_url(settings_in(tmp_path, public_ip="0.0.0.0", public_port=8443))
        == "https://127.0.0.1:8443/hub/login"
    )
    assert runtime.login_url(settings_in(tmp_path, public_ip="10.1.2.3")).startswith("https://10.1.2.3:")
