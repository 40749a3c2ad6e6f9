"""The engine's daemon configuration (enclave/engine/daemon_config.py): what it enforces, what of the
operator's it keeps, live-restore against swarm mode, the atomic write, and what a running engine still
lacks. The running engine itself is checked by tests/integration/security/test_cis_docker_daemon.py."""

from __future__ import annotations

import json
import os

import pytest

from enclave.engine import daemon_config as dc


def test_an_empty_configuration_gets_every_hardening_key_and_log_rotation():
    config = dc.wanted({}, swarm=False)
    assert config["icc"] is False and config["no-new-privileges"] is True and config["userland-proxy"] is False
    assert config["iptables"] is True and config["live-restore"] is True
    assert config["log-driver"] == "json-file" and config["log-opts"] == {"max-size": "10m", "max-file": "5"}
    assert config["log-level"] == "info"
    assert config["default-ulimits"]["core"] == {"Name": "core", "Hard": 0, "Soft": 0}


def test_the_operators_own_keys_and_choices_are_kept_and_contrary_hardening_is_replaced():
    existing = {
        "data-root": "/srv/docker",
        "icc": True,
        "userland-proxy": True,
        "log-level": "warn",
        "log-opts": {"max-size": "50m"},
        "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}],
    }
    config = dc.wanted(existing, swarm=False)
    assert config["data-root"] == "/srv/docker" and config["default-address-pools"] == existing["default-address-pools"]
    assert config["log-level"] == "warn" and config["log-opts"] == {"max-size": "50m", "max-file": "5"}
    assert config["icc"] is False and config["userland-proxy"] is False
    assert existing["icc"] is True and "live-restore" not in existing  # the input is not changed
    assert "icc: true -> false" in dc.differences(existing, config)


def test_a_remote_log_driver_gets_no_file_rotation_options_it_would_refuse():
    config = dc.wanted({"log-driver": "syslog", "log-opts": {"syslog-address": "udp://10.0.0.5:514"}}, swarm=False)
    assert config["log-driver"] == "syslog" and config["log-opts"] == {"syslog-address": "udp://10.0.0.5:514"}


def test_live_restore_is_off_exactly_in_swarm_mode():
    assert dc.wanted({"live-restore": True}, swarm=True)["live-restore"] is False
    assert dc.wanted({"live-restore": False}, swarm=False)["live-restore"] is True


def test_swarm_mode_is_read_from_the_running_engine_or_else_from_its_data_root(tmp_path):
    assert dc.in_swarm({"Swarm": {"LocalNodeState": "active"}}, {}) is True
    assert dc.in_swarm({"Swarm": {"LocalNodeState": "inactive"}}, {}) is False
    assert dc.in_swarm(None, {"data-root": str(tmp_path)}) is False
    (tmp_path / "swarm").mkdir()
    (tmp_path / "swarm" / "docker-state.json").write_text("{}")  # what dockerd keeps while in a swarm
    assert dc.in_swarm(None, {"data-root": str(tmp_path)}) is True


def test_written_atomically_readable_by_all_and_read_back(tmp_path):
    path = tmp_path / "docker" / "daemon.json"
    dc.write_atomically({"icc": False}, path)
    assert dc.load(path) == {"icc": False} and oct(path.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(path.parent) == ["daemon.json"]  # no partial file left behind
    assert dc.load(tmp_path / "absent.json") == {}


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_a_broken_daemon_json_is_refused_with_what_to_do(tmp_path, text):
    path = tmp_path / "daemon.json"
    path.write_text(text)
    with pytest.raises(dc.EngineConfigError, match="fix it or move it away"):
        dc.load(path)


def test_keys_awaiting_a_restart_are_those_the_engine_did_not_start_with():
    config = dc.wanted({}, swarm=False)
    running = {**config, "icc": True, "live-restore": False}  # started before; live-restore reloaded since
    assert dc.awaiting_restart(config, running, {"LiveRestoreEnabled": True}) == ["icc"]
    assert dc.awaiting_restart(config, config, {"LiveRestoreEnabled": False}) == ["live-restore"]
    assert dc.awaiting_restart(config, config, {"LiveRestoreEnabled": True}) == []
    assert "no-new-privileges" in dc.awaiting_restart(config, None, {"LiveRestoreEnabled": True})  # unknown: all


def test_the_start_record_names_what_the_engine_started_with(tmp_path):
    record, path = tmp_path / "started.json", tmp_path / "daemon.json"
    dc.write_atomically({"icc": False}, path)
    dc.record_start(os.getpid(), dc.load(path), record)
    dc.write_atomically({"icc": True}, path)  # changed after the start: the record still says what runs
    assert dc.started_with(os.getpid(), path, record) == {"icc": False}
    assert json.loads(record.read_text())["pid"] == os.getpid()


def test_without_a_record_a_file_written_after_the_engines_start_is_not_what_it_runs(tmp_path):
    path = tmp_path / "daemon.json"
    dc.write_atomically({"icc": False}, path)  # after this test process started
    assert dc.started_with(os.getpid(), path, tmp_path / "no-record.json") is None
    os.utime(path, (0, 0))  # a file from before the process started
    assert dc.started_with(os.getpid(), path, tmp_path / "no-record.json") == {"icc": False}


def test_configure_writes_the_file_and_says_what_changed_when_no_engine_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dc, "engine_info", lambda: None)  # no engine: this test must not touch the real one
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"data-root": str(tmp_path / "root"), "icc": True}))
    assert dc.configure(path) == []
    assert dc.load(path)["icc"] is False and dc.load(path)["data-root"] == str(tmp_path / "root")
    assert "icc: true -> false" in capsys.readouterr().out
    dc.configure(path)
    assert capsys.readouterr().out == ""  # idempotent: nothing to say the second time


def test_live_restore_is_never_turned_on_in_a_swarm(monkeypatch, tmp_path):
    monkeypatch.setattr(dc, "engine_info", lambda: {"LiveRestoreEnabled": False, "Swarm": {"LocalNodeState": "active"}})
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    with pytest.raises(dc.EngineConfigError, match="refuse to start"):
        dc.set_live_restore(True, tmp_path / "daemon.json")
    assert not (tmp_path / "daemon.json").exists()


def test_a_remote_engine_is_not_reconfigured_from_here(monkeypatch, tmp_path):
    monkeypatch.setattr(dc, "engine_info", lambda: {"LiveRestoreEnabled": True, "Swarm": {}})
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.9:2376")
    with pytest.raises(dc.EngineConfigError, match="not this machine's"):
        dc.set_live_restore(False, tmp_path / "daemon.json")


def test_an_engine_that_kept_its_earlier_network_settings_is_told_to_restart_with_no_container_running():
    # dockerd started while containers still ran (live-restore) logs "the network config will not take
    # affect": its default bridge still allows ICC although its configuration says icc=false.
    config = dc.wanted({}, swarm=False)
    live = {"LiveRestoreEnabled": True}
    assert dc.awaiting_restart(config, config, live, bridge_icc="true") == ["icc", "userland-proxy"]
    assert dc.awaiting_restart(config, config, live, bridge_icc="false") == []


def test_the_command_line_records_a_start_and_configures(tmp_path, monkeypatch, capsys):
    # As scripts/ensure-docker.sh calls it; no engine is asked (this test must not touch the real one).
    monkeypatch.setattr(dc, "engine_info", lambda: None)
    monkeypatch.setattr(dc, "default_bridge_icc", lambda: "false")
    monkeypatch.setattr(dc, "STARTED_RECORD", tmp_path / "started.json")
    path = tmp_path / "daemon.json"
    assert dc.main(["--path", str(path), "configure"]) == 0
    assert dc.main(["--path", str(path), "started", str(os.getpid())]) == 0
    assert json.loads((tmp_path / "started.json").read_text()) == {"pid": os.getpid(), "config": dc.load(path)}
    path.write_text("{broken")
    assert dc.main(["--path", str(path), "configure"]) == 3
    assert "fix it or move it away" in capsys.readouterr().err


def test_swarm_up_and_down_audit_the_pause_of_live_restore(tmp_path, monkeypatch, capsys):
    from enclave.cli.main import main
    from enclave.swarm import deploy

    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    assert main(["init"]) == 0
    paused = deploy.HubDeployment("https://127.0.0.1:1", "inst-hub", True, "node0123456789", paused_live_restore=True)
    monkeypatch.setattr(deploy, "swarm_up", lambda *a, **k: paused)
    monkeypatch.setattr(deploy, "swarm_down", lambda *a, **k: ["inst-hub", "the swarm", deploy.LIVE_RESTORE_BACK])
    assert main(["swarm", "up"]) == 0
    assert "live-restore off" in capsys.readouterr().out
    assert main(["swarm", "down"]) == 0
    assert main(["audit", "show"]) == 0
    out = capsys.readouterr().out
    assert out.count("engine.configure") == 2, out


def test_a_daemon_json_it_may_not_write_is_refused_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(dc, "engine_info", lambda: None)

    def refused(config, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(dc, "write_atomically", refused)
    with pytest.raises(dc.EngineConfigError, match="run this as root"):
        dc.configure(tmp_path / "daemon.json")
