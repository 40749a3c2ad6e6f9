"""The baseline hub: stock DockerSpawner on an ordinary bridge network (benchmarks/plain_hub_config.py).

Everything it creates carries the label enclave.instance=<label>, so that
harness.enclave.cleanup_instance(<label>) removes it. It runs through enclave.runtime's
process helpers, as the enclave's own hub does.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

import docker

from enclave import runtime
from harness.enclave import REPO, free_port

CONFIG = Path(__file__).resolve().parent / "plain_hub_config.py"
CHP = REPO / ".cache/node/node_modules/.bin/configurable-http-proxy"


@dataclass
class PlainHub:
    label: str
    image: str
    folder: Path
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    port: int = field(default_factory=free_port)
    hub_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    network: str = ""
    gateway: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / "hub.log"

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no hub log)"

    def create_network(self) -> None:
        """An ordinary user-defined bridge: not internal, containers may reach each other and the world."""
        net = docker.from_env().networks.create(
            f"{self.label}-net",
            driver="bridge",
            labels={"enclave.instance": self.label, "enclave.kind": "plain-network"},
        )
        net.reload()
        configs = net.attrs.get("IPAM", {}).get("Config") or []
        self.network = net.name
        self.gateway = next(c["Gateway"] for c in configs if c.get("Gateway"))

    def start(self, timeout: float = 90) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.create_network()
        env = dict(os.environ)
        env.update(
            {
                "BENCH_PLAIN_DIR": str(self.folder),
                "BENCH_PLAIN_LABEL": self.label,
                "BENCH_PLAIN_IMAGE": self.image,
                "BENCH_PLAIN_NETWORK": self.network,
                "BENCH_PLAIN_GATEWAY": self.gateway,
                "BENCH_PLAIN_PORT": str(self.port),
                "BENCH_PLAIN_HUB_PORT": str(self.hub_port),
                "BENCH_PLAIN_API_PORT": str(self.api_port),
                "BENCH_PLAIN_PASSWORD": self.password,
                "BENCH_PLAIN_PROXY_TOKEN": secrets.token_hex(32),
                "BENCH_PLAIN_CHP": str(CHP),
            }
        )
        jupyterhub = str(Path(sys.executable).parent / "jupyterhub")
        pid = runtime.launch([jupyterhub, "-f", str(CONFIG)], self.log_path, self.pid_path, self.folder, env)

        def died() -> str | None:
            return None if runtime.alive(pid) else f"the plain hub exited:\n{self.log_tail()}"

        runtime.wait_for_login_page(f"{self.url}/hub/login", None, died, timeout)

    @property
    def pid_path(self) -> Path:
        return self.folder / "jupyterhub.pid"

    def stop(self) -> None:
        """Stop the hub, then its proxy (which outlives a hub that was killed)."""
        runtime.terminate(self.pid_path, 60)
        runtime.terminate(self.folder / "proxy.pid")
