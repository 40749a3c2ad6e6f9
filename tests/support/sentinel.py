"""Sentinel servers the isolation tests aim at: each records every connection it receives."""

from __future__ import annotations

import socket
import threading


class HostSentinel:
    """A TCP listener on this host (all addresses) that records who connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.peers: list[str] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, peer = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.peers.append(peer[0])
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()


# Runs inside a sentinel container: print the peer address of every connection.
CONTAINER_LISTENER = (
    "import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 9999)); s.listen(16); print('LISTENING', flush=True)\n"
    "while True:\n"
    "    c,a=s.accept(); print('CONNECTED', a[0], flush=True); c.close()\n"
)


# Runs in a workspace kernel: try each (host, port) and print OPEN or the failure.
def probe_code(targets: list[tuple[str, int]], timeout: float = 3.0) -> str:
    return (
        "import socket\n"
        f"for host, port in {targets!r}:\n"
        "    s = socket.socket()\n"
        f"    s.settimeout({timeout})\n"
        "    try:\n"
        "        s.connect((host, port)); print(host, port, 'OPEN')\n"
        "    except OSError as e:\n"
        "        print(host, port, type(e).__name__)\n"
        "    finally:\n"
        "        s.close()\n"
    )


def parse_probe(output: str) -> dict[tuple[str, int], str]:
    results = {}
    for line in output.strip().splitlines():
        host, port, verdict = line.split()
        results[(host, int(port))] = verdict
    return results
