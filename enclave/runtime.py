"""Starting, stopping and checking one installation's processes: the hub gate, the hub and the edge.

`enclave up|down|status` (and `make up`/`make down`), the tests and the
benchmarks all go through here. Each process runs in a session of its own
(it outlives its caller), logs to `<state_dir>/<name>.log` and has its pid
in `<state_dir>/hub/<name>.pid`. The hub starts its proxy and the airlock (a
hub-managed service) itself; stopping the hub stops them, and the proxy,
which outlives a killed hub, is stopped by its own pid file.

Start-up order: the state folder checked to be encrypted at rest (enclave/atrest),
the hub's files (state folder, shared secrets: `hub/startup.py`), then the gate
(workspaces the hub finds running call it at once), the hub, and the edge; ready
means the login page answers through the edge, its certificate verified.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .atrest.volume import require_encrypted_state
from .errors import EnclaveError
from .hub.startup import prepare_hub
from .settings import EnclaveSettings

REPO = Path(__file__).resolve().parents[1]
HUB_CONFIG = REPO / "hub_config" / "jupyterhub_config.py"
NODE_BIN = REPO / ".cache" / "node" / "node_modules" / ".bin"
STOP_TIMEOUT = 30.0  # seconds between TERM and KILL
START_TIMEOUT = 90.0  # seconds for the login page to answer through the edge

# Variables that say where an installation is; its processes read their settings from them.
_WHERE = {
    "ENCLAVE_STATE_DIR": "state_dir",
    "ENCLAVE_INSTANCE": "instance",
    "ENCLAVE_PUBLIC_IP": "public_ip",
    "ENCLAVE_PUBLIC_PORT": "public_port",
    "ENCLAVE_HUB_PORT": "hub_port",
    "ENCLAVE_HUB_INTERNAL_PORT": "hub_internal_port",
    "ENCLAVE_PROXY_API_PORT": "proxy_api_port",
    "ENCLAVE_PROXY_PORT": "proxy_port",
    "ENCLAVE_EGRESS_PORT": "egress_port",
    "ENCLAVE_DB_URL": "database_url",
    "ENCLAVE_HUB_DB_URL": "hub_database_url",
}
# The caller's own trust store for its clients (the tests set these); the processes keep the system's.
_CLIENT_ONLY = ("REQUESTS_CA_BUNDLE", "WEBSOCKET_CLIENT_CA_BUNDLE")

# Processes this one started, polled through Popen so that an ended child is reaped, not a zombie.
_STARTED: dict[int, subprocess.Popen] = {}


class StartFailed(EnclaveError):
    """A process of the installation exited or did not answer in time; the message holds its log."""


@dataclass(frozen=True)
class Process:
    """One background process of an installation."""

    name: str  # as status prints it
    stem: str  # its pid file's and log's name
    argv: tuple[str, ...]


def processes(settings: EnclaveSettings, hub_args: Sequence[str] = ()) -> list[Process]:
    """The installation's processes in start order; `hub_args` are extra jupyterhub options."""
    python = sys.executable
    jupyterhub = str(Path(python).parent / "jupyterhub")
    return [
        Process("hub gate", "hubgate", (python, "-m", "enclave.hubgate")),
        Process("hub", "jupyterhub", (jupyterhub, "-f", str(HUB_CONFIG), *hub_args)),
        Process("edge", "edge", (python, "-m", "enclave.edge")),
    ]


def pid_file(settings: EnclaveSettings, process: Process) -> Path:
    return settings.hub_dir / f"{process.stem}.pid"


def log_file(settings: EnclaveSettings, process: Process) -> Path:
    return settings.state_path / ("hub.log" if process.stem == "jupyterhub" else f"{process.stem}.log")


def environment(settings: EnclaveSettings) -> dict[str, str]:
    """The caller's environment naming this installation, with the venv's and the proxy's programs first."""
    env = {k: v for k, v in os.environ.items() if k not in _CLIENT_ONLY}
    env.update({variable: str(getattr(settings, trait)) for variable, trait in _WHERE.items()})
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), str(NODE_BIN), env.get("PATH", "")])
    return env


def login_url(settings: EnclaveSettings) -> str:
    """The login page through the edge, from this machine."""
    host = "127.0.0.1" if settings.public_ip in ("", "0.0.0.0", "127.0.0.1") else settings.public_ip
    return f"https://{host}:{settings.public_port}/hub/login"


# ---- one background process ----


def launch(argv: Sequence[str], log: Path, pid_path: Path, cwd: Path, env: dict[str, str]) -> int:
    """Start `argv` in a session of its own (it outlives its caller), output appended to `log`; returns its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        child = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _STARTED[child.pid] = child
    pid_path.write_text(f"{child.pid}\n")
    return child.pid


def running_pid(pid_path: Path) -> int | None:
    """The pid in `pid_path` if that process is alive, else None."""
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def alive(pid: int) -> bool:
    if pid in _STARTED:
        return _STARTED[pid].poll() is None
    try:
        os.kill(pid, 0)  # started by an earlier `enclave up`: not ours to reap
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate(pid_path: Path, timeout: float = STOP_TIMEOUT) -> None:
    """TERM the process in `pid_path`, KILL it if it still runs after `timeout`; remove the pid file."""
    pid = running_pid(pid_path)
    if pid is not None:
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(pid):
            _signal(pid, signal.SIGKILL)
            while alive(pid) and time.monotonic() < deadline + 10:
                time.sleep(0.2)
    _STARTED.pop(pid, None)
    pid_path.unlink(missing_ok=True)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def wait_for_login_page(
    url: str, verify: ssl.SSLContext | None, died: Callable[[], str | None], timeout: float = START_TIMEOUT
) -> None:
    """Wait until `url` answers 200; raise StartFailed with what `died()` says as soon as it says anything.

    `died` returns None while every watched process runs, else why it stopped (with its log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reason = died()
        if reason:
            raise StartFailed(reason)
        try:
            with urllib.request.urlopen(url, timeout=2, context=verify) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise StartFailed(f"{url} did not answer within {timeout:.0f} s")


# ---- the installation ----


def edge_trust(settings: EnclaveSettings) -> ssl.SSLContext:
    """How to verify the edge from this machine: its self-signed certificate, name included.

    An operator's own certificate names the public host rather than 127.0.0.1: its chain is verified
    (system CAs and the certificate itself), not its name; browsers check the name."""
    if settings.tls_cert:
        context = ssl.create_default_context()
        context.load_verify_locations(settings.tls_cert)
        context.check_hostname = False
        return context
    return ssl.create_default_context(cafile=str(settings.tls_dir / "edge.crt"))


def status(settings: EnclaveSettings) -> dict[str, int | None]:
    """Each process's name and pid, None when it is not running."""
    return {p.name: running_pid(pid_file(settings, p)) for p in processes(settings)}


def start(settings: EnclaveSettings, hub_args: Sequence[str] = (), timeout: float = START_TIMEOUT) -> list[str]:
    """Start whatever of the installation is not running and wait for its login page; returns what was running.

    Refused, before anything is made, on a state folder that is not encrypted and unlocked (unless a demo)."""
    require_encrypted_state(settings)
    prepare_hub(settings)
    env = environment(settings)
    already = []
    for process in processes(settings, hub_args):
        pids = pid_file(settings, process)
        if running_pid(pids) is not None:
            already.append(process.name)
            continue
        launch(process.argv, log_file(settings, process), pids, settings.hub_dir, env)
        if process.stem == "hubgate":
            _wait_for_port(settings.hub_port, lambda: _died(settings, [process]), timeout)
        if process.stem == "edge":
            _wait_for_certificate(settings, lambda: _died(settings, [process]), timeout)
    wait_for_login_page(
        login_url(settings), edge_trust(settings), lambda: _died(settings, processes(settings)), timeout
    )
    return already


def stop(settings: EnclaveSettings, timeout: float = STOP_TIMEOUT) -> None:
    """Stop the edge, the hub (and with it the airlock), the hub's proxy and the gate; state stays."""
    gate, hub, edge = (pid_file(settings, p) for p in processes(settings))
    terminate(edge, timeout)
    terminate(hub, 2 * timeout)
    terminate(settings.hub_dir / "proxy.pid", timeout)  # the proxy outlives a killed hub
    terminate(gate, timeout)


def _died(settings: EnclaveSettings, watched: list[Process]) -> str | None:
    for process in watched:
        if running_pid(pid_file(settings, process)) is None:
            log = log_file(settings, process)
            return f"the {process.name} exited; the end of its log ({log}):\n{tail(log)}"
    return None


def _wait_for_port(port: int, died: Callable[[], str | None], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            reason = died()
            if reason or time.monotonic() > deadline:
                raise StartFailed(reason or f"nothing listens on port {port} after {timeout:.0f} s") from None
            time.sleep(0.2)


def _wait_for_certificate(settings: EnclaveSettings, died: Callable[[], str | None], timeout: float) -> None:
    """The edge makes its self-signed certificate as it starts; clients need it before they connect."""
    certificate = Path(settings.tls_cert) if settings.tls_cert else settings.tls_dir / "edge.crt"
    deadline = time.monotonic() + timeout
    while not certificate.exists():
        reason = died()
        if reason or time.monotonic() > deadline:
            raise StartFailed(reason or f"the edge made no certificate at {certificate} in {timeout:.0f} s")
        time.sleep(0.2)
