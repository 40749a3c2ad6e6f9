"""The Docker engine's daemon configuration (/etc/docker/daemon.json), hardened as CIS Docker Benchmark
section 2 asks, merged into what the operator already has, written atomically.

scripts/ensure-docker.sh runs `python -m enclave.engine.daemon_config configure` before it starts the
engine and when it finds one running. A running engine is never restarted for you: it may be running
workspaces. Its one reloadable key that matters here, live-restore, is applied with SIGHUP; the others
take effect at its next start, and `configure` says so. Standard library only: the script may run it
before the virtualenv exists.

live-restore and swarm mode exclude each other: `docker swarm init` refuses while live-restore is on,
and an engine with swarm state on disk and live-restore in its daemon.json refuses to start at all
(dockerd 20.10: "Error starting cluster component"). So live-restore is on exactly when the engine is in
no swarm; `enclave swarm up` turns it off before it creates a swarm and `swarm down` turns it on again.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import InvalidState

DAEMON_JSON = Path("/etc/docker/daemon.json")
DEFAULT_PID_FILE = "/var/run/docker.pid"
DEFAULT_DATA_ROOT = "/var/lib/docker"
# What the engine was started with, by scripts/ensure-docker.sh: tells which keys a running engine has.
STARTED_RECORD = Path("/run/enclave/dockerd-started.json")

# Enforced: an operator's contrary value is replaced, and `configure` says so. CIS 2.x in the comments.
REQUIRED = {
    "icc": False,  # 2.2: no traffic between containers on the default bridge (the enclave's own networks set it too)
    "iptables": True,  # 2.4: the project networks' isolation is iptables rules the engine writes
    "no-new-privileges": True,  # 2.14: no setuid gain in any container, not only the enclave's
    "userland-proxy": False,  # 2.16: published ports by iptables NAT, no docker-proxy process per port
}
# Defaults: kept when the operator chose otherwise (a remote log driver, another log level, other limits).
DEFAULTS = {
    "log-level": "info",  # 2.3
    "log-driver": "json-file",
    "default-ulimits": {"core": {"Name": "core", "Hard": 0, "Soft": 0}},  # 2.8: no core dumps of analysts' data
}
# Log rotation for the drivers that write files on this machine (2.13 names remote logging; see docs).
ROTATING_DRIVERS = ("json-file", "local")
LOG_ROTATION = {"max-size": "10m", "max-file": "5"}
# The key this module reloads with SIGHUP (dockerd's "configuration reload behavior"); the rest need a restart.
RELOADABLE = {"live-restore"}
# Network settings: a start with containers still running (live-restore) keeps the earlier ones.
NETWORK_KEYS = {"icc", "userland-proxy"}


class EngineConfigError(InvalidState):
    """The engine's configuration could not be read, written or applied."""


def in_swarm(info: dict | None, config: dict) -> bool:
    """Whether the engine is, or will start, in a swarm: from a running engine, else from its data root."""
    if info is not None:
        return (info.get("Swarm") or {}).get("LocalNodeState", "inactive") != "inactive"
    return (Path(config.get("data-root", DEFAULT_DATA_ROOT)) / "swarm" / "docker-state.json").exists()


def wanted(existing: dict, swarm: bool) -> dict:
    """The operator's configuration with the enclave's hardening; `existing` is not changed."""
    config = json.loads(json.dumps(existing))  # a deep copy
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)
    config.update(REQUIRED)
    config["live-restore"] = not swarm  # 2.15, which swarm mode refuses (module docstring)
    if config["log-driver"] in ROTATING_DRIVERS:
        config["log-opts"] = {**LOG_ROTATION, **config.get("log-opts", {})}
    return config


def differences(before: dict, after: dict) -> list[str]:
    """Each key that differs, as 'key: old -> new', for the operator to read."""
    keys = sorted(set(before) | set(after))
    return [
        f"{k}: {json.dumps(before.get(k))} -> {json.dumps(after.get(k))}" for k in keys if before.get(k) != after.get(k)
    ]


def load(path: Path = DAEMON_JSON) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        config = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as e:
        raise EngineConfigError(f"{path} is not valid JSON ({e}): fix it or move it away, then run this again.") from e
    if not isinstance(config, dict):
        raise EngineConfigError(f"{path} must hold a JSON object: fix it or move it away, then run this again.")
    return config


def write_atomically(config: dict, path: Path = DAEMON_JSON) -> None:
    """Write through a temporary file in the same folder and rename: the engine never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(config, out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def engine_info() -> dict | None:
    """`docker info` of the local engine, or None when none answers."""
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{json .}}"], capture_output=True, text=True, timeout=60, check=False
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    info = json.loads(done.stdout)
    return None if info.get("ServerErrors") else info


def engine_pid(config: dict) -> int | None:
    """The running dockerd's process id, from its pid file."""
    try:
        pid = int(Path(config.get("pidfile", DEFAULT_PID_FILE)).read_text().strip())
        command = Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ValueError):
        return None
    return pid if command == "dockerd" else None


def _process_start(pid: int) -> float:
    """When the process started, in seconds since the epoch."""
    ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line[:6] == "btime ")
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def record_start(pid: int, config: dict, record: Path | None = None) -> None:
    record = record or STARTED_RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    write_atomically({"pid": pid, "config": config}, record)


def started_with(pid: int, path: Path = DAEMON_JSON, record: Path | None = None) -> dict | None:
    """The configuration the running engine read when it started, when that can be known."""
    try:
        known = json.loads((record or STARTED_RECORD).read_text())
        if known.get("pid") == pid:
            return known["config"]
    except (FileNotFoundError, json.JSONDecodeError):
        pass
    try:
        if path.stat().st_mtime < _process_start(pid):
            return load(path)  # started after the file was last written (by systemd, say)
        return None
    except FileNotFoundError:
        return {}


def default_bridge_icc() -> str | None:
    """The default bridge's ICC option as the engine runs it ('true' or 'false'), None if unknown."""
    done = subprocess.run(
        [
            "docker",
            "network",
            "inspect",
            "bridge",
            "--format",
            '{{index .Options "com.docker.network.bridge.enable_icc"}}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def awaiting_restart(config: dict, running: dict | None, info: dict, bridge_icc: str | None = None) -> list[str]:
    """Keys of `config` the running engine does not have yet and will only read when it restarts.

    An engine that starts while containers still run (live-restore) keeps its earlier network settings
    ("the network config will not take affect"): the default bridge's ICC option shows it."""
    if running is None:
        return sorted(set(config) - RELOADABLE)  # unknown: say all of them
    stale = {k for k in set(config) | set(running) if config.get(k) != running.get(k)} - RELOADABLE
    if info.get("LiveRestoreEnabled") != config.get("live-restore", False):
        stale.add("live-restore")
    if bridge_icc is not None and bridge_icc != json.dumps(config.get("icc", True)):
        stale |= NETWORK_KEYS
    return sorted(stale)


def _say_stale(stale: list[str], pid: int | None, path: Path, out) -> None:
    print(
        f"The running engine (pid {pid or '?'}) does not run with {', '.join(stale)} of {path} yet: these take "
        "effect when it restarts. It was not restarted for you, as it may be running workspaces. When "
        f"convenient (with live-restore on, containers keep running): kill -TERM {pid or '<its pid>'}, wait "
        "until it has exited, then run 'make docker' (scripts/ensure-docker.sh). "
        f"{', '.join(sorted(NETWORK_KEYS))} take effect only if no container runs at that start: dockerd keeps "
        "its earlier network settings for containers that outlived it.",
        file=out,
    )


def _reload(pid: int, live_restore: bool, timeout: float = 30) -> None:
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = engine_info()
        if info is not None and info.get("LiveRestoreEnabled") == live_restore:
            return
        time.sleep(0.5)
    raise EngineConfigError(
        f"The engine (pid {pid}) did not take live-restore={str(live_restore).lower()} on SIGHUP within "
        f"{timeout:.0f} s: read its log (dockerd.log in the enclave's log folder), fix the cause and run this again."
    )


def _note_reload(pid: int, key: str, value) -> None:
    """A reloaded key is the running engine's own from now on."""
    record = STARTED_RECORD
    try:
        known = json.loads(record.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return
    if known.get("pid") == pid:
        known["config"][key] = value
        write_atomically(known, record)


def _local_engine() -> bool:
    host = os.environ.get("DOCKER_HOST", "")
    return host in ("", "unix:///var/run/docker.sock", "unix:///run/docker.sock")


def set_live_restore(enabled: bool, path: Path = DAEMON_JSON) -> bool:
    """Turn live-restore on or off in the running local engine, without a restart; True if it changed."""
    info = engine_info()
    if info is None:
        raise EngineConfigError("No Docker engine answers here: start it ('make docker'), then run this again.")
    if info.get("LiveRestoreEnabled") == enabled:
        return False
    instead = (
        f'set "live-restore": {str(enabled).lower()} in the engine\'s daemon.json and reload it '
        "(kill -HUP <dockerd's pid>), then run this again."
    )
    if not _local_engine():
        host = os.environ["DOCKER_HOST"]
        raise EngineConfigError(f"The engine at DOCKER_HOST={host} is not this machine's: {instead}")
    config = load(path)
    if enabled and in_swarm(info, config):
        raise EngineConfigError(
            "This engine is in a swarm: with live-restore on it would refuse to start next time. "
            "Leave the swarm first ('enclave swarm down')."
        )
    pid = engine_pid(config)
    if pid is None:
        raise EngineConfigError(f"dockerd's pid file names no running dockerd: {instead}")
    try:
        write_atomically({**config, "live-restore": enabled}, path)
    except PermissionError:
        raise EngineConfigError(f"{path} is not writable by this user: {instead}") from None
    _reload(pid, enabled)
    _note_reload(pid, "live-restore", enabled)
    return True


def configure(path: Path = DAEMON_JSON, out=None) -> list[str]:
    """Write the hardened configuration; apply live-restore to a running engine; return the keys that
    the running engine will only have after a restart (empty when none runs, or it has them all)."""
    out = out or sys.stdout
    info = engine_info()
    existing = load(path)
    config = wanted(existing, in_swarm(info, existing))
    if config != existing:
        try:
            write_atomically(config, path)
        except PermissionError:
            raise EngineConfigError(
                f"{path} is not writable by this user: run this as root (sudo make docker)."
            ) from None
        print(f"Wrote the engine's configuration {path}:", *differences(existing, config), sep="\n  ", file=out)
    if info is None:
        return []
    pid = engine_pid(config)
    if pid is not None and info.get("LiveRestoreEnabled") != config["live-restore"]:
        _reload(pid, config["live-restore"])
        _note_reload(pid, "live-restore", config["live-restore"])
        print(f"Reloaded the running engine (pid {pid}): live-restore={str(config['live-restore']).lower()}.", file=out)
        info = engine_info() or info
    stale = awaiting_restart(config, started_with(pid, path) if pid else None, info, default_bridge_icc())
    if stale:
        _say_stale(stale, pid, path, out)
    return stale


def started(pid: int, path: Path = DAEMON_JSON, out=None) -> list[str]:
    """Record what an engine just started with; say what it did not take (network settings it kept)."""
    config = load(path)
    record_start(pid, config)
    info = engine_info() or {}
    stale = awaiting_restart(
        config, config, {**info, "LiveRestoreEnabled": config.get("live-restore")}, default_bridge_icc()
    )
    if stale:
        _say_stale(stale, pid, path, out or sys.stdout)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m enclave.engine.daemon_config", description=__doc__.split("\n")[0])
    parser.add_argument("--path", type=Path, default=DAEMON_JSON, help="the daemon.json (default: %(default)s)")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("configure", help="write the hardened configuration; reload live-restore of a running engine")
    start = sub.add_parser("started", help="record the configuration an engine just started with")
    start.add_argument("pid", type=int)
    args = parser.parse_args(argv)
    try:
        if args.action == "configure":
            configure(args.path)
        else:
            started(args.pid, args.path)
    except InvalidState as refusal:
        print(refusal, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
