"""`enclave up|down|status`: start, stop and check this installation's hub gate, hub and edge (enclave.runtime)."""

from __future__ import annotations

from .. import runtime
from ..settings import EnclaveSettings


def _up(args) -> int:
    settings = EnclaveSettings()
    already = runtime.start(settings)
    for name in already:
        print(f"The {name} was already running.")
    print(f"The enclave answers at {runtime.login_url(settings)}")
    return 0


def _down(args) -> int:
    runtime.stop(EnclaveSettings())
    return 0


def _status(args) -> int:
    pids = runtime.status(EnclaveSettings())
    for name, pid in pids.items():
        print(f"{name}: running (pid {pid})" if pid else f"{name}: stopped")
    return 0 if all(pids.values()) else 1


def register_runtime(groups) -> None:
    up = groups.add_parser("up", help="start the hub gate, the hub (with the airlock) and the edge in the background")
    up.set_defaults(func=_up)
    down = groups.add_parser("down", help="stop the edge, the hub, its proxy and the hub gate; state stays")
    down.set_defaults(func=_down)
    status = groups.add_parser("status", help="say which of the hub gate, hub and edge run (exit 1 unless all)")
    status.set_defaults(func=_status)


REGISTRARS = [register_runtime]
