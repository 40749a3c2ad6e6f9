"""The tests' Chromium sees the enclave as an analyst's browser on another machine does (harness/chromium.py).

Unblinded, Chromium on this machine aborts requests in flight whenever Docker adds or removes an
interface; the harness denies it netlink sockets so that workspaces starting beside a test cannot
fail the test's page loads.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.chromium import BLIND_LAUNCHER
from tests.support.browser import launch, new_context

REQUESTS = 30
SLOW_SECONDS = 2.0


def test_the_blind_launcher_refuses_netlink_sockets_and_nothing_else():
    probe = (
        "import socket\n"
        "try:\n    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0); print('netlink opened')\n"
        "except PermissionError: print('netlink refused')\n"
        "socket.socket(socket.AF_INET, socket.SOCK_STREAM).close(); print('inet opened')\n"
    )
    done = subprocess.run(
        [BLIND_LAUNCHER, "-c", probe],
        env={"ENCLAVE_CHROMIUM": sys.executable},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["netlink", "refused", "inet", "opened"]


class _SlowPage(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path.startswith("/slow"):
            time.sleep(SLOW_SECONDS)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>ok</body></html>")

    def log_message(self, *args):
        pass


def _churn(docker_client, image: str, name: str, rounds: int = 3) -> None:
    """What a workspace start and stop does to the host's interfaces: a bridge and a veth come and go."""
    for n in range(rounds):
        network = docker_client.networks.create(f"{name}-{n}", internal=True, labels={"enclave.kind": "test-churn"})
        try:
            container = docker_client.containers.run(
                image, ["sleep", "2"], detach=True, network=network.name, labels={"enclave.kind": "test-churn"}
            )
            container.wait(timeout=60)
            container.remove(force=True)
        finally:
            network.remove()


def test_requests_in_flight_survive_docker_networks_coming_and_going(chromium_path, docker_client, workspace_image):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = launch(p, chromium_path)
            page = new_context(browser).new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            churn = threading.Thread(
                target=_churn, args=(docker_client, workspace_image, f"enctest-churn-{secrets.token_hex(3)}")
            )
            churn.start()
            outcomes = page.evaluate(
                """async (n) => {
                const pending = [];
                for (let i = 0; i < n; i++) {
                    pending.push(fetch('/slow?' + i).then(r => r.ok ? 'ok' : 'status ' + r.status,
                                                          e => String(e)));
                    await new Promise(r => setTimeout(r, 250));
                }
                return Promise.all(pending);
            }""",
                REQUESTS,
            )
            churn.join()
            browser.close()
    finally:
        server.shutdown()
    assert outcomes == ["ok"] * REQUESTS
