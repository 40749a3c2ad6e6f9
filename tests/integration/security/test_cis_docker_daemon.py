"""CIS Docker Benchmark v1.6.0, section 2 (Docker daemon configuration), against the running engine.

Numbering as in docker-bench-security's tests/2_docker_daemon_configuration.sh (2.1 ... 2.18). Each check
reads what the engine runs with: `docker info`, the configuration it started with (its daemon.json as
scripts/ensure-docker.sh recorded it at the start, live-restore as reloaded since; enclave/engine/), and
dockerd's command line; where the engine shows the effect itself (the default bridge's ICC option, a
container's NoNewPrivs), that is checked too. Items that do not apply here say why in their docstring and
in docs/security.md, and check the control that stands in for them. The wanted configuration itself is
unit-tested in tests/unit/test_engine_config.py; the containers' side is section 5 (test_cis_docker.py).
"""

from __future__ import annotations

import grp
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from enclave.engine import daemon_config

SOCKET = Path("/var/run/docker.sock")


@dataclass(frozen=True)
class Engine:
    info: dict
    config: dict  # what the running engine started with, live-restore as it runs now
    args: list[str]  # dockerd's command line

    def flag(self, name: str) -> list[str]:
        """Every value given to --name on the command line ('' for a bare flag)."""
        values = []
        for i, arg in enumerate(self.args):
            if arg == f"--{name}" or arg.startswith(f"--{name}="):
                if "=" in arg:
                    values.append(arg.split("=", 1)[1])
                elif i + 1 < len(self.args) and not self.args[i + 1].startswith("-"):
                    values.append(self.args[i + 1])
                else:
                    values.append("")
        return values

    def setting(self, key: str, default=None):
        """A daemon setting: the command line's, else the configuration file's, else dockerd's default."""
        given = self.flag(key)
        if given:
            return {"true": True, "false": False, "": True}.get(given[-1], given[-1])
        return self.config.get(key, default)


@pytest.fixture(scope="module")
def engine(docker_client):
    info = docker_client.info()
    existing = daemon_config.load()
    pid = daemon_config.engine_pid(existing)
    assert pid, "no dockerd runs from this machine's pid file: the engine must be the local one"
    started = daemon_config.started_with(pid)
    assert started is not None, (
        f"The running engine (pid {pid}) started before {daemon_config.DAEMON_JSON} was last written, so it "
        "does not run with it: restart it (kill -TERM it, then 'make docker'; with live-restore on, "
        "containers keep running)."
    )
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[1:]
    return Engine(info, {**started, "live-restore": info["LiveRestoreEnabled"]}, [a for a in args if a])


def check_2_1_rootful_engine_reachable_by_root_only(engine, docker_client, image):
    """Not applicable as written: rootless Docker cannot write the host's iptables rules that confine each
    project's network and the host firewall (docs/security.md). Instead, only root reaches the engine."""
    mode = SOCKET.stat().st_mode
    assert stat.S_ISSOCK(mode) and not mode & stat.S_IRWXO, oct(mode)  # nothing for other users
    group = grp.getgrgid(SOCKET.stat().st_gid)
    assert group.gr_name in ("root", "docker") and not group.gr_mem, group  # a group nobody is in
    assert not [h for h in engine.flag("host") + engine.flag("H") + engine.config.get("hosts", []) if "tcp" in h]


def check_2_2_no_traffic_between_containers_on_the_default_bridge(engine, docker_client, image):
    assert engine.setting("icc", True) is False
    bridge = docker_client.networks.get("bridge").attrs["Options"]
    assert bridge["com.docker.network.bridge.enable_icc"] == "false", (
        "The engine's configuration says icc=false, but its default bridge still allows traffic between "
        "containers: it started while containers ran (live-restore) and kept its earlier network settings. "
        "Restart it when no container runs (docs/operators.md, The engine's configuration)."
    )


def check_2_3_logging_level_info(engine, docker_client, image):
    assert engine.setting("log-level", "info") == "info" and not engine.flag("l") and not engine.flag("debug")
    assert engine.info["Debug"] is False


def check_2_4_engine_writes_iptables_rules(engine, docker_client, image):
    assert engine.setting("iptables", True) is True
    assert subprocess.run(["iptables", "-S", "DOCKER"], capture_output=True).returncode == 0  # its chain exists


def check_2_5_no_insecure_registries(engine, docker_client, image):
    assert not engine.config.get("insecure-registries") and not engine.flag("insecure-registry")
    assert engine.info["RegistryConfig"]["InsecureRegistryCIDRs"] in ([], ["127.0.0.0/8"])  # dockerd's own default


def check_2_6_not_aufs(engine, docker_client, image):
    assert engine.info["Driver"] == "overlay2"


def check_2_7_no_tcp_socket_without_tls(engine, docker_client, image):
    hosts = engine.flag("host") + engine.flag("H") + engine.config.get("hosts", [])
    tcp = [h for h in hosts if not h.startswith(("unix://", "fd://"))]
    assert not tcp or engine.setting("tlsverify", False) is True, tcp


def check_2_8_default_ulimits_set(engine, docker_client, image):
    assert engine.config.get("default-ulimits", {}).get("core") == {"Name": "core", "Hard": 0, "Soft": 0}


def check_2_9_user_namespaces_not_remapped_for_the_reason_given(engine, docker_client, image):
    """Not adopted (docs/security.md, measured): with userns-remap the workspaces' bind mounts, owned by
    uid 1000 on the host, cannot even be mounted. An engine remapped without the installation owning its
    folders by the remapped uid would start no workspace, so this checks the engine is not remapped."""
    assert not [o for o in engine.info["SecurityOptions"] if o.startswith("name=userns")]
    assert not engine.setting("userns-remap", "")


def check_2_10_default_cgroup_parent(engine, docker_client, image):
    assert not engine.setting("cgroup-parent", "")


def check_2_11_base_device_size_unchanged(engine, docker_client, image):
    options = engine.config.get("storage-opts", []) + engine.flag("storage-opt")
    assert not [o for o in options if o.startswith("dm.basesize")]


def check_2_12_no_authorization_plugin_and_the_socket_root_only(engine, docker_client, image):
    """Not applicable: no authorization plugin ships with the distribution's engine, and the engine's only
    clients are root's (the enclave's commands, and in swarm mode the hub's container). The socket's
    permissions stand in for it (2.1)."""
    assert not engine.info["Plugins"].get("Authorization")
    check_2_1_rootful_engine_reachable_by_root_only(engine, docker_client, image)


def check_2_13_container_logs_rotated_or_sent_away(engine, docker_client, image):
    """Remote logging needs a log server the installation names (its "log-driver" in daemon.json is kept,
    enclave/engine/). Without one, the logs stay on this machine, rotated; the enclave's own audit log is
    forwarded by its own means (docs/operators.md, The audit log)."""
    driver = engine.info["LoggingDriver"]
    if driver in daemon_config.ROTATING_DRIVERS:
        options = engine.config.get("log-opts", {})
        assert options.get("max-size") and options.get("max-file"), options
    else:
        assert driver in ("syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "gcplogs", "logentries")


def check_2_14_no_new_privileges_by_default(engine, docker_client, image):
    assert engine.setting("no-new-privileges", False) is True
    # A container started with no security option of its own runs with the flag set.
    status = docker_client.containers.run(
        image, entrypoint=["cat", "/proc/self/status"], network_mode="none", remove=True, user="1000"
    ).decode()
    assert "NoNewPrivs:\t1" in status


def check_2_15_live_restore_or_swarm(engine, docker_client, image):
    """On exactly when the engine is in no swarm: swarm mode refuses live-restore (enclave/engine/)."""
    swarm = engine.info["Swarm"]["LocalNodeState"] != "inactive"
    assert engine.info["LiveRestoreEnabled"] is (not swarm)


def check_2_16_no_userland_proxy(engine, docker_client, image):
    assert engine.setting("userland-proxy", True) is False
    proxies = [p for p in Path("/proc").glob("[0-9]*/comm") if _read(p) == "docker-proxy"]
    assert not proxies  # published ports are NAT rules, not processes


def check_2_17_default_seccomp_profile_daemon_wide(engine, docker_client, image):
    """A daemon-wide custom profile is not appropriate: the engine also builds images and runs the enclave's
    other containers. Its default profile is on for all, and each workspace adds its own stricter one
    (enclave/confinement/seccomp.py, CIS 5.22)."""
    assert "name=seccomp,profile=default" in engine.info["SecurityOptions"]
    assert not engine.config.get("seccomp-profile") and not engine.flag("seccomp-profile")


def check_2_18_no_experimental_features(engine, docker_client, image):
    assert engine.info["ExperimentalBuild"] is False and not engine.setting("experimental", False)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:  # the process ended while we looked
        return ""


CHECKS = {name[len("check_") :]: fn for name, fn in sorted(globals().items()) if name.startswith("check_2_")}


@pytest.mark.parametrize("check", sorted(CHECKS, key=lambda n: [int(p) for p in n.split("_")[:2]]))
def test_cis_docker_2(check, engine, docker_client, workspace_image):
    """CIS Docker Benchmark 1.6.0 section 2: one check against the running engine."""
    CHECKS[check](engine, docker_client, workspace_image)


def test_every_section_2_item_has_a_check():
    assert sorted(int(n.split("_")[1]) for n in CHECKS) == list(range(1, 19))
    assert os.path.exists(daemon_config.DAEMON_JSON)  # written by scripts/ensure-docker.sh
