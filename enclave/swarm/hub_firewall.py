"""The hub container's own firewall, in its own network namespace.

In swarm mode the hub joins every workspace's overlay, so whatever listens on
all of the hub container's addresses would be in reach of every workspace:
the public port (the edge, or the proxy), anything a future change binds
widely. The proxy's API and the airlock listen on loopback; this chain makes
the rest explicit: from any interface but loopback and the hub's uplink (the
bridge its public port is published on), only the hub's API port and
replies to the hub's own connections are accepted. Overlays the hub joins
later are covered without a rule of their own. Forwarding is off: the hub
is no router between overlays.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import IsolationError

CHAIN = "ENCLAVE-HUB-IN"


def rules(uplink: str, hub_port: int) -> list[list[str]]:
    """The chain's rules, in order (iptables arguments after `-A CHAIN`)."""
    return [
        ["-i", "lo", "-j", "RETURN"],
        ["-i", uplink, "-j", "RETURN"],
        ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
        ["-p", "tcp", "--dport", str(hub_port), "-m", "conntrack", "--ctstate", "NEW", "-j", "RETURN"],
        ["-j", "DROP"],
    ]


def uplink_interface(route_table: str = "/proc/net/route") -> str:
    """The interface of the default route: the bridge the hub was started on, before any overlay."""
    for line in Path(route_table).read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) > 1 and fields[1] == "00000000":
            return fields[0]
    raise IsolationError(
        "The hub container has no default route, so its uplink cannot be told from the "
        "workspaces' overlays; start it on a bridge network ('enclave swarm up')."
    )


def _iptables(*args: str) -> None:
    binary = shutil.which("iptables")
    if binary is None:
        raise IsolationError("iptables is missing from the hub image; rebuild it ('enclave images build --kind hub').")
    result = subprocess.run([binary, "-w", "10", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise IsolationError(
            f"iptables {' '.join(args)} failed in the hub container: {result.stderr.strip()} "
            "(the container needs the NET_ADMIN capability)."
        )


def apply(hub_port: int, uplink: str | None = None) -> list[list[str]]:
    """Install the chain (replacing an earlier one) and jump to it first from INPUT. Fails closed."""
    uplink = uplink or uplink_interface()
    if (
        subprocess.run(
            [shutil.which("iptables") or "iptables", "-w", "10", "-n", "-L", CHAIN], capture_output=True
        ).returncode
        == 0
    ):
        _iptables("-F", CHAIN)
    else:
        _iptables("-N", CHAIN)
    chain = rules(uplink, hub_port)
    for rule in chain:
        _iptables("-A", CHAIN, *rule)
    _iptables("-I", "INPUT", "1", "-j", CHAIN)
    _iptables("-P", "FORWARD", "DROP")
    return chain
