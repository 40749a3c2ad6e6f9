"""The hub container's entry point: its firewall first, then the hub gate, the hub and the edge.

`python -m enclave.swarm.hub_main [jupyterhub options]`. If the firewall
cannot be put in place nothing starts. When any of the processes ends, the
others are stopped and the container exits with its code, so the engine's
restart policy brings the whole hub back.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from ..hub.startup import prepare_hub
from ..settings import EnclaveSettings
from . import hub_firewall

HUB_CONFIG = Path("/opt/enclave/hub_config/jupyterhub_config.py")


def commands(extra: list[str]) -> list[list[str]]:
    """The hub gate (the workspaces' only way to the hub, on hub_port), JupyterHub (its API, its proxy and
    the airlock on loopback) and the edge, the public entrance."""
    return [
        [sys.executable, "-m", "enclave.hubgate"],
        ["jupyterhub", "-f", str(HUB_CONFIG), *extra],
        [sys.executable, "-m", "enclave.edge"],
    ]


def main(argv: list[str] | None = None) -> int:
    settings = EnclaveSettings()
    prepare_hub(settings)  # the state folder and the secrets the hub's configuration reads
    chain = hub_firewall.apply(settings.hub_port)
    print(
        f"hub firewall: {len(chain)} rules in {hub_firewall.CHAIN}; only port {settings.hub_port} "
        "(the hub gate) is open to workspace overlays",
        flush=True,
    )
    processes = [subprocess.Popen(cmd, cwd=settings.hub_dir) for cmd in commands(list(argv or sys.argv[1:]))]

    def stop(*_):
        for p in processes:
            if p.poll() is None:
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(p.poll() is None for p in processes):
        time.sleep(0.5)
    stop()
    for p in processes:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
    return next((p.returncode for p in processes if p.returncode), 0)


if __name__ == "__main__":
    sys.exit(main())
