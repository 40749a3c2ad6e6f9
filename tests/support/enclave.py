"""A whole enclave for the integration tests: seeded state, a real hub process, cleanup by name prefix."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
import requests

from enclave.cohort import generate_cohort
from enclave.hub.workspaces import HubWorkspaces
from enclave.isolation.network import remove_instance
from enclave.operations import datasets, people, projects
from enclave.operations.base import OperatorContext
from enclave.settings import EnclaveSettings
from enclave.state.db import open_state_db

from .hub import HubUser, trust

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class EnclaveUnderTest:
    settings: EnclaveSettings
    ctx: OperatorContext
    url: str
    log_path: Path
    passwords: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    edge_process: subprocess.Popen | None = None
    gate_process: subprocess.Popen | None = None

    @property
    def ca_file(self) -> str:
        """The edge's self-signed certificate: what clients of this enclave verify against."""
        return str(self.settings.tls_dir / "edge.crt")

    @property
    def inner_url(self) -> str:
        """The hub's proxy itself, on loopback behind the edge: for tests of the controls behind the edge."""
        return f"http://127.0.0.1:{self.settings.proxy_port}"

    @property
    def http_url(self) -> str:
        """The same public port, in plain HTTP (which the edge redirects or refuses)."""
        return self.url.replace("https://", "http://", 1)

    def login(self, name: str, otp: str | None = None) -> HubUser:
        user = HubUser(self.url, name, self.passwords[name], otp=otp)
        assert user.logged_in, f"{name} could not log in: {user.login_response.status_code}"
        return user

    def log_tail(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no hub log)"

    def containers(self, **labels) -> list:
        filters = [f"enclave.instance={self.settings.instance}"] + [f"enclave.{k}={v}" for k, v in labels.items()]
        return docker.from_env().containers.list(all=True, filters={"label": filters})


TEST_LIMITS = {"workspace_mem_limit": "1G", "workspace_cpu_limit": 1.0, "workspace_pids_limit": 256,
               "workspace_scratch_size": "256m"}
SHARED_PROJECT_BUDGET = 256 * 1024 * 1024  # bytes a day, per person and for all members of a shared project


def make_settings(root: Path, prefix: str = "enctest", limits: dict | None = None) -> EnclaveSettings:
    """An installation on free loopback ports, named `<prefix>-<hex>` for clean-up by label."""
    return EnclaveSettings(
        state_dir=str(root / "state"),
        instance=f"{prefix}-{secrets.token_hex(3)}",
        public_ip="127.0.0.1",
        public_port=free_port(),
        hub_port=free_port(),
        hub_internal_port=free_port(),
        proxy_port=free_port(),
        proxy_api_port=free_port(),
        egress_port=free_port(),
        **(TEST_LIMITS if limits is None else limits),
    )


def hub_environment(settings: EnclaveSettings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "WEBSOCKET_CLIENT_CA_BUNDLE")}
    env.update({
        "ENCLAVE_STATE_DIR": settings.state_dir,
        "ENCLAVE_INSTANCE": settings.instance,
        "ENCLAVE_PUBLIC_IP": settings.public_ip,
        "ENCLAVE_PUBLIC_PORT": str(settings.public_port),
        "ENCLAVE_HUB_PORT": str(settings.hub_port),
        "ENCLAVE_HUB_INTERNAL_PORT": str(settings.hub_internal_port),
        "ENCLAVE_PROXY_API_PORT": str(settings.proxy_api_port),
        "ENCLAVE_PROXY_PORT": str(settings.proxy_port),
        "ENCLAVE_EGRESS_PORT": str(settings.egress_port),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(REPO / ".cache/node/node_modules/.bin"),
                                 env.get("PATH", "")]),
    })
    return env


def start_hub(enclave: EnclaveUnderTest, extra_args: list[str] | None = None) -> None:
    settings = enclave.settings
    settings.hub_dir.mkdir(parents=True, exist_ok=True)
    log = open(enclave.log_path, "ab")
    # Test-only overrides go on the command line, so the config file under test stays the real one.
    args = [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(REPO / "hub_config/jupyterhub_config.py"),
            f"--EnclaveSettings.workspace_mem_limit={settings.workspace_mem_limit}",
            f"--EnclaveSettings.workspace_pids_limit={settings.workspace_pids_limit}",
            f"--EnclaveSettings.workspace_scratch_size={settings.workspace_scratch_size}",
            *(extra_args or [])]
    start_gate(enclave)  # before the hub: workspaces the hub starts call it at once
    enclave.process = subprocess.Popen(args, cwd=settings.hub_dir, env=hub_environment(settings), stdout=log,
                                       stderr=subprocess.STDOUT)
    start_edge(enclave)
    wait_for_login_page(enclave.url, enclave.process, enclave.log_tail, verify=enclave.ca_file,
                        also=enclave.edge_process)


def start_gate(enclave: EnclaveUnderTest) -> None:
    """The hub gate on settings.hub_port, the only way from workspaces to the hub (enclave/hubgate)."""
    log = open(enclave.log_path, "ab")
    enclave.gate_process = subprocess.Popen([sys.executable, "-m", "enclave.hubgate"], cwd=enclave.settings.hub_dir,
                                            env=hub_environment(enclave.settings), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", enclave.settings.hub_port), 1).close()
            return
        except OSError:
            if enclave.gate_process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub gate did not start:\n{enclave.log_tail()}") from None
            time.sleep(0.2)


def start_edge(enclave: EnclaveUnderTest) -> None:
    """The public HTTPS entrance in front of the hub's proxy; it makes its self-signed certificate at start."""
    log = open(enclave.log_path, "ab")
    enclave.edge_process = subprocess.Popen([sys.executable, "-m", "enclave.edge"], cwd=enclave.settings.hub_dir,
                                            env=hub_environment(enclave.settings), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not Path(enclave.ca_file).exists():
        if enclave.edge_process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the edge did not start:\n{enclave.log_tail()}")
        time.sleep(0.2)
    trust(enclave.url, enclave.ca_file)


def wait_for_login_page(url: str, process: subprocess.Popen, log_tail, timeout: float = 90,
                        verify: str | bool = True, also: subprocess.Popen | None = None) -> None:
    """Wait until a hub process (and its edge, `also`) serves its login page; raise with its log if either dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for watched in (process, also):
            if watched is not None and watched.poll() is not None:
                raise RuntimeError(f"{watched.args[0]} exited with {watched.returncode}:\n{log_tail()}")
        try:
            if requests.get(f"{url}/hub/login", timeout=2, verify=verify).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the hub did not answer within {timeout:.0f} s:\n{log_tail()}")


def stop_hub(enclave: EnclaveUnderTest) -> None:
    stop_hub_process(enclave.process, enclave.settings.hub_dir / "proxy.pid")
    stop_edge(enclave)
    stop_gate(enclave)


def _stop(process: subprocess.Popen | None) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def stop_edge(enclave: EnclaveUnderTest) -> None:
    _stop(enclave.edge_process)


def stop_gate(enclave: EnclaveUnderTest) -> None:
    _stop(enclave.gate_process)


def stop_hub_process(process: subprocess.Popen | None, pid_file: Path) -> None:
    """Stop a hub, then its proxy (which outlives a hub that was killed)."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), 15)
        except (ValueError, ProcessLookupError):
            pass


def cleanup_instance(instance: str) -> None:
    """Remove every container and network a test run created, and their firewall rules."""
    remove_instance(docker.from_env(), instance)


def seed(enclave: EnclaveUnderTest, data_root: Path) -> None:
    """Projects, people and data the integration tests rely on."""
    ctx = enclave.ctx
    cohort = data_root / "cohort" / "v1"
    generate_cohort(cohort, participants=2_000, seed=7)
    secret = data_root / "secret" / "v1"
    generate_cohort(secret, participants=500, seed=8)
    datasets.register_dataset(ctx, "cohort", "v1", cohort)
    datasets.register_dataset(ctx, "secret", "v1", secret)
    for name in ("alpha", "beta", "gamma", "delta"):
        projects.create_project(ctx, name)
        # Shared by every test of a run, so their metered traffic adds up all day: a budget of their own,
        # not the 1 MiB floor a small cohort derives. Tests of the budget make their own project (metered_person).
        projects.set_egress_budget(ctx, name, SHARED_PROJECT_BUDGET, project_daily_bytes=SHARED_PROJECT_BUDGET)
    datasets.approve_dataset(ctx, "alpha", "cohort", "v1")
    datasets.approve_dataset(ctx, "beta", "secret", "v1")
    datasets.approve_dataset(ctx, "gamma", "cohort", "v1")
    datasets.approve_dataset(ctx, "delta", "cohort", "v1")
    accounts = {
        "alice": (["analyst"], ["alpha"]),
        "carol": (["analyst"], ["alpha"]),
        "bob": (["analyst"], ["beta"]),
        "dave": (["analyst"], ["gamma"]),
        "erin": (["analyst"], ["delta"]),
        "lockme": (["analyst"], []),
        "tina": (["analyst"], []),
        "rita": (["reviewer"], []),
        "rex": (["reviewer"], []),
        "oscar": (["operator"], []),
    }
    for name, (roles, member_of) in accounts.items():
        enclave.passwords[name] = people.add_user(ctx, name, roles).initial_password
        for project in member_of:
            people.add_member(ctx, project, name)


def build_enclave(root: Path, settings: EnclaveSettings | None = None) -> EnclaveUnderTest:
    settings = settings or make_settings(root)
    settings.prepare_state_dir()
    ctx = OperatorContext(settings=settings, db=open_state_db(settings.database_url), actor=f"{settings.instance}-operator",
                          workspaces=HubWorkspaces(settings))
    return EnclaveUnderTest(settings=settings, ctx=ctx, url=f"https://127.0.0.1:{settings.public_port}",
                            log_path=root / "hub.log")
