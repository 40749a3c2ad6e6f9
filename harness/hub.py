"""Driving a real JupyterHub over HTTP, as a person does: logging in, tokens, starting and stopping workspaces."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import requests

# The certificate each enclave's edge serves, by origin (https://host:port): the harness registers it
# when it starts the edge (enclave.py), and every client of that origin verifies against it.
_TRUSTED: dict[str, str] = {}


def trust(url: str, ca_file: str) -> None:
    """Verify `url`'s origin against `ca_file`, in HubUser and in every `requests` and websocket-client call.

    Plain `requests.get(...)` and websocket-client read their CA bundle from the
    environment: point both at the system CAs plus each trusted edge certificate
    (this process only; certificates are still verified, never skipped).
    """
    origin = _origin(url)
    # A copy, read now: the edge's own file may go with its installation (or its locked volume) before
    # a later trust() rebuilds the bundle.
    key = hashlib.sha256(origin.encode()).hexdigest()[:12]
    copy = Path(tempfile.gettempdir()) / f"enclave-test-edge-{os.getpid()}-{key}.pem"
    copy.write_text(Path(ca_file).read_text())
    _TRUSTED[origin] = str(copy)
    bundle = Path(tempfile.gettempdir()) / f"enclave-test-cas-{os.getpid()}.pem"
    bundle.write_text("\n".join([Path(certifi.where()).read_text(), *(Path(f).read_text() for f in _TRUSTED.values())]))
    os.environ["REQUESTS_CA_BUNDLE"] = os.environ["WEBSOCKET_CLIENT_CA_BUNDLE"] = str(bundle)


def verify_for(url: str) -> str | bool:
    """What `requests` should verify `url`'s certificate with: its edge's certificate, else the system's CAs."""
    return _TRUSTED.get(_origin(url), True)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HubUser:
    """A person logged in through the hub's real login form."""

    def __init__(self, base_url: str, name: str, password: str, otp: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.http = requests.Session()
        self.http.verify = verify_for(self.base_url)
        self.login_response = self._login(password, otp)

    def _login(self, password: str, otp: str | None) -> requests.Response:
        self.http.get(f"{self.base_url}/hub/login", timeout=30)
        form = {"username": self.name, "password": password, "_xsrf": self.hub_xsrf}
        if otp is not None:
            form["2fa"] = otp
        return self.http.post(f"{self.base_url}/hub/login", data=form, allow_redirects=False, timeout=30)

    @property
    def hub_xsrf(self) -> str:
        # Workspaces set an _xsrf cookie of their own under /user/...; take the hub's.
        return self.http.cookies.get("_xsrf", default="", path="/hub/")

    @property
    def logged_in(self) -> bool:
        return self.login_response.status_code == 302 and "jupyterhub-session-id" in self.http.cookies

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"X-XSRFToken": self.hub_xsrf}
        return self.http.request(method, f"{self.base_url}/hub/api{path}", headers=headers, timeout=120, **kwargs)

    def token(self, scopes: list[str] | None = None) -> str:
        body = {"note": "test", "expires_in": 3600}
        if scopes:
            body["scopes"] = scopes
        reply = self.api("POST", f"/users/{self.name}/tokens", json=body)
        reply.raise_for_status()
        return reply.json()["token"]

    def start(
        self, project: str, timeout: float = 180, options: dict | None = None, poll: float = 0.5
    ) -> requests.Response:
        """Ask for the project's workspace and wait until it is ready (or the spawn fails)."""
        reply = self.api("POST", f"/users/{self.name}/servers/{project}", json=options)
        if reply.status_code == 400 and "already running" in reply.text:
            return reply  # the caller's own server, started earlier: wait for it like a new one
        if reply.status_code not in (201, 202):
            return reply
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.server(project)
            if server and server.get("ready"):
                return reply
            if server is None:
                raise AssertionError(f"{self.name}'s {project} workspace stopped while starting")
            time.sleep(poll)
        raise AssertionError(f"{self.name}'s {project} workspace was not ready within {timeout} s")

    def server(self, project: str) -> dict | None:
        reply = self.api("GET", f"/users/{self.name}")
        reply.raise_for_status()
        return (reply.json().get("servers") or {}).get(project)

    def stop(self, project: str) -> None:
        self.api("DELETE", f"/users/{self.name}/servers/{project}")
        deadline = time.monotonic() + 60
        while self.server(project) is not None and time.monotonic() < deadline:
            time.sleep(0.5)

    def server_url(self, project: str) -> str:
        return f"{self.base_url}/user/{self.name}/{project}"
