"""A whole enclave to drive from outside, for the tests and the benchmarks: fresh state on free loopback ports.

Its processes (hub gate, hub with its proxy and airlock, edge) are started
and stopped by enclave.runtime, as `enclave up|down` does; the installation
is named `<prefix>-<hex>` so that everything it creates in Docker is removed
by that label (cleanup_instance).
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docker

from enclave import runtime
from enclave.hub.workspaces import HubWorkspaces
from enclave.isolation.network import remove_instance
from enclave.operations.base import OperatorContext
from enclave.settings import EnclaveSettings
from enclave.state.db import open_state_db

from .hub import HubUser, trust

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class EnclaveUnderTest:
    settings: EnclaveSettings
    ctx: OperatorContext
    url: str
    passwords: dict[str, str] = field(default_factory=dict)
    hub_args: Sequence[str] = ()  # extra jupyterhub options it was started with

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

    @property
    def log_paths(self) -> list[Path]:
        """The logs of the hub (with its proxy and the airlock), the edge and the hub gate."""
        return [runtime.log_file(self.settings, p) for p in runtime.processes(self.settings)]

    @property
    def log_path(self) -> Path:
        """The hub's log."""
        return runtime.log_file(self.settings, runtime.processes(self.settings)[1])

    def login(self, name: str, otp: str | None = None) -> HubUser:
        user = HubUser(self.url, name, self.passwords[name], otp=otp)
        assert user.logged_in, f"{name} could not log in: {user.login_response.status_code}"
        return user

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(f"== {path.name} ==\n{runtime.tail(path, lines)}" for path in self.log_paths)

    def containers(self, **labels) -> list:
        filters = [f"enclave.instance={self.settings.instance}"] + [f"enclave.{k}={v}" for k, v in labels.items()]
        return docker.from_env().containers.list(all=True, filters={"label": filters})


TEST_LIMITS = {
    "workspace_mem_limit": "1G",
    "workspace_cpu_limit": 1.0,
    "workspace_pids_limit": 256,
    "workspace_scratch_size": "256m",
}


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


def build_enclave(root: Path, settings: EnclaveSettings | None = None) -> EnclaveUnderTest:
    settings = settings or make_settings(root)
    settings.prepare_state_dir()
    ctx = OperatorContext(
        settings=settings,
        db=open_state_db(settings.database_url),
        actor=f"{settings.instance}-operator",
        workspaces=HubWorkspaces(settings),
    )
    return EnclaveUnderTest(settings=settings, ctx=ctx, url=f"https://127.0.0.1:{settings.public_port}")


def hub_environment(settings: EnclaveSettings) -> dict[str, str]:
    """The environment the installation's processes run with (for another edge in front of the same hub)."""
    return runtime.environment(settings)


def start_hub(enclave: EnclaveUnderTest, extra_args: list[str] | None = None) -> None:
    """Start the enclave's processes and trust its edge's certificate in this process's clients."""
    settings = enclave.settings
    # The settings' limits go on the hub's command line, so the config file under test stays the real one.
    enclave.hub_args = [
        f"--EnclaveSettings.workspace_mem_limit={settings.workspace_mem_limit}",
        f"--EnclaveSettings.workspace_pids_limit={settings.workspace_pids_limit}",
        f"--EnclaveSettings.workspace_scratch_size={settings.workspace_scratch_size}",
        *(extra_args or []),
    ]
    try:
        runtime.start(settings, hub_args=enclave.hub_args)
    except runtime.StartFailed as failure:
        raise RuntimeError(f"the enclave did not start: {failure}\n{enclave.log_tail()}") from None
    trust(enclave.url, enclave.ca_file)


def stop_hub(enclave: EnclaveUnderTest) -> None:
    """Stop the edge, the hub (its airlock and proxy) and the gate; nothing happens if none runs."""
    runtime.stop(enclave.settings)


def cleanup_instance(instance: str) -> None:
    """Remove every container and network a run created, and their firewall rules."""
    remove_instance(docker.from_env(), instance)
