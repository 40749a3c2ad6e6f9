"""Host input filtering for project networks.

Docker's internal networks stop forwarding beyond the host, but not traffic
to the host itself: without this, a workspace could reach every service the
host listens on. All project bridges share the name prefix `enc-`; one
chain, jumped to first from INPUT, lets a workspace reach only the hub's API
on its own network's gateway, plus replies to connections the host opened
(the proxy and the hub talking to the workspace), and drops the rest.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess

from ..errors import IsolationError
from .bridges import BRIDGE_PREFIX, ProjectNetwork

CHAIN = "ENCLAVE-INPUT"
# Traffic between containers on one cluster bridge passes the FORWARD chain (br_netfilter);
# Docker jumps to DOCKER-USER first, and that jumps here.
FORWARD_CHAIN = "ENCLAVE-FORWARD"
_TAIL_RULES = [
    ["-i", BRIDGE_PREFIX + "+", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
    ["-i", BRIDGE_PREFIX + "+", "-j", "DROP"],
]


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    binary = shutil.which("iptables")
    if binary is None:
        raise IsolationError(
            "iptables is not installed; workspaces cannot be isolated from the host. "
            "Install it (apt-get install iptables)."
        )
    result = subprocess.run([binary, "-w", "10", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise IsolationError(f"iptables {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def _has_rule(chain: str, rule: list[str]) -> bool:
    return _iptables("-C", chain, *rule, check=False).returncode == 0


def _ensure_chain(chain: str) -> None:
    if _iptables("-n", "-L", chain, check=False).returncode != 0:
        # Two first spawns may race to create the chain; whichever loses finds it there.
        if _iptables("-N", chain, check=False).returncode != 0:
            _iptables("-n", "-L", chain)


def ensure_base_rules() -> None:
    _ensure_chain(CHAIN)
    for rule in _TAIL_RULES:
        if not _has_rule(CHAIN, rule):
            _iptables("-A", CHAIN, *rule)
    if not _has_rule("INPUT", ["-j", CHAIN]):
        _iptables("-I", "INPUT", "1", "-j", CHAIN)


def hub_rule(network: ProjectNetwork, hub_port: int) -> list[str]:
    return ["-i", network.bridge, "-d", network.gateway, "-p", "tcp", "--dport", str(hub_port), "-j", "ACCEPT"]


def allow_hub(network: ProjectNetwork, hub_port: int) -> None:
    """Let this network's workspaces reach the hub API on their gateway, and nothing else on the host."""
    ensure_base_rules()
    rule = hub_rule(network, hub_port)
    if not _has_rule(CHAIN, rule):
        _iptables("-I", CHAIN, "1", *rule)


def _ensure_forward_chain() -> None:
    _ensure_chain(FORWARD_CHAIN)
    if _iptables("-n", "-L", "DOCKER-USER", check=False).returncode != 0:
        raise IsolationError("The DOCKER-USER chain is missing: is the Docker engine running with iptables on?")
    if not _has_rule("DOCKER-USER", ["-j", FORWARD_CHAIN]):
        _iptables("-I", "DOCKER-USER", "1", "-j", FORWARD_CHAIN)


def confine_cluster(network: ProjectNetwork, node_ips: list[str]) -> None:
    """On a cluster bridge, let traffic pass only to or from a cluster node.

    Workspaces of a project join its cluster network to reach the Spark
    master and workers (and be reached by executors); they must still not
    reach each other there. Nothing on the host is reachable either: the
    bridge falls under ENCLAVE-INPUT's final DROP and gets no hub rule.
    """
    if not node_ips:
        raise IsolationError("A cluster without nodes cannot be confined; start its containers first.")
    ensure_base_rules()
    _ensure_forward_chain()
    same_bridge = ["-i", network.bridge, "-o", network.bridge]
    drop = [*same_bridge, "-j", "DROP"]
    if not _has_rule(FORWARD_CHAIN, drop):
        _iptables("-A", FORWARD_CHAIN, *drop)
    for ip in node_ips:
        for direction in ("-s", "-d"):
            rule = [*same_bridge, direction, ip, "-j", "RETURN"]
            if not _has_rule(FORWARD_CHAIN, rule):
                _iptables("-I", FORWARD_CHAIN, "1", *rule)


def _index_comment(bridge: str) -> list[str]:
    return ["-m", "comment", "--comment", f"enclave-packages:{bridge}"]


def _rules_tagged(chain: str, bridge: str) -> list[str]:
    marker = f"enclave-packages:{bridge}"
    return [r for r in _iptables("-S", chain, check=False).stdout.splitlines() if r.startswith("-A ") and marker in r]


def open_index(network: ProjectNetwork, index_ip: str, port: int) -> None:
    """On a project bridge (container-to-container traffic off), let workspaces reach the package index.

    Docker drops traffic between containers on the bridge (ICC off). In ENCLAVE-FORWARD (DOCKER-USER),
    only connections to the index's port pass, and the index's answers on them; the index starts
    nothing (to workspaces, ICC's drop). On the host it reaches nothing either: its packets are dropped
    ahead of the hub gate's rule, which would otherwise let anything on the bridge reach the gate.
    """
    ensure_base_rules()
    _ensure_forward_chain()
    tag = _index_comment(network.bridge)
    same_bridge = ["-i", network.bridge, "-o", network.bridge]
    forward = [
        [*same_bridge, "-d", index_ip, "-p", "tcp", "--dport", str(port), *tag, "-j", "ACCEPT"],
        [*same_bridge, "-s", index_ip, "-p", "tcp", "--sport", str(port), "-m", "conntrack", "--ctstate",
         "ESTABLISHED", *tag, "-j", "ACCEPT"],
    ]  # fmt: skip
    no_host = ["-i", network.bridge, "-s", index_ip, *tag, "-j", "DROP"]
    for chain, rules in ((FORWARD_CHAIN, forward), (CHAIN, [no_host])):
        for rule in rules:
            if not _has_rule(chain, rule):
                _iptables("-I", chain, "1", *rule)
        for stale in _rules_tagged(chain, network.bridge):  # an earlier index container's address
            if f"{index_ip}/32" not in stale:
                _iptables("-D", *shlex.split(stale)[1:], check=False)
    _keep_ahead_of_hub_rule(network, no_host)


def _keep_ahead_of_hub_rule(network: ProjectNetwork, no_host: list[str]) -> None:
    """The index's DROP must come before the bridge's hub rule (allow_hub inserts at the top too)."""
    rules = _iptables("-S", CHAIN).stdout.splitlines()  # rules[0] is "-N CHAIN": a rule's index is its position
    marker = f"enclave-packages:{network.bridge}"
    drop = next(i for i, r in enumerate(rules) if marker in r and r.endswith("-j DROP"))
    hub = [i for i, r in enumerate(rules) if f"-i {network.bridge} -d {network.gateway}/32" in r and "ACCEPT" in r]
    if hub and min(hub) < drop:
        _iptables("-I", CHAIN, "1", *no_host)  # the new copy first, then the old one (one further down) goes
        _iptables("-D", CHAIN, str(drop + 1))


def forget_index(bridge: str) -> None:
    """Remove a project's index rules (when its index container is removed)."""
    for chain in (CHAIN, FORWARD_CHAIN):
        for rule in _rules_tagged(chain, bridge):
            _iptables("-D", *shlex.split(rule)[1:], check=False)


def _hub_guard_comment(instance: str) -> str:
    return f"enclave-hub:{instance}"


def guard_hub_port(instance: str, hub_port: int) -> None:
    """Let only loopback and project bridges reach the hub's own port.

    The hub listens on every address, because each project network's gateway
    is one of them. Without this, anyone who can reach the host could use the
    hub's port directly, around the edge (no TLS, no route refusals, no
    metering). Packets from project bridges are decided earlier in the chain.
    """
    ensure_base_rules()
    rule = [
        "!",
        "-i",
        "lo",
        "-p",
        "tcp",
        "--dport",
        str(hub_port),
        "-m",
        "comment",
        "--comment",
        _hub_guard_comment(instance),
        "-j",
        "DROP",
    ]
    if not _has_rule(CHAIN, rule):
        _iptables("-A", CHAIN, *rule)


def forget_hub_port(instance: str) -> None:
    """Remove an installation's hub-port guard (teardown)."""
    marker = f'--comment "{_hub_guard_comment(instance)}"'
    for rule in _iptables("-S", CHAIN, check=False).stdout.splitlines():
        if marker in rule or f"--comment {_hub_guard_comment(instance)} " in f"{rule} ":
            _iptables("-D", *shlex.split(rule)[1:], check=False)


def forget_bridge(bridge: str) -> None:
    """Remove every rule for one project bridge (when its network is removed)."""
    for chain in (CHAIN, FORWARD_CHAIN):
        listing = _iptables("-S", chain, check=False).stdout.splitlines()
        for rule in listing:
            if rule.startswith(f"-A {chain} ") and f" -i {bridge} " in f"{rule} ":
                _iptables("-D", *shlex.split(rule)[1:], check=False)  # shlex: comments are quoted
