"""What the workspace's lockdown answers, and alice's browser on her workspace through the hub's proxy: shared
by the red-team tests that open Jupyter's routes (fixtures in conftest.py)."""

from __future__ import annotations

import requests

# What enclave_lockdown answers on a closed route (images/workspace/lockdown/enclave_lockdown).
CLOSED = "This route is closed in the enclave"
TOO_LARGE = "cannot be opened in the browser in the enclave"
LIMIT = 64 * 1024
WEB_SERVER_PORT = 8765  # the analyst's own web server in the workspace (proxy attempts)


class Browser:
    """Alice's own token, sent to her workspace through the hub's proxy, as her browser would.

    It goes to the hub's proxy directly (loopback, behind the edge), so that what these tests
    prove is the workspace's own lockdown; tests/integration/security/test_edge.py proves the edge separately.
    """

    def __init__(self, workspace):
        self.base = f"{workspace.enclave.inner_url}/user/{workspace.user.name}/{workspace.project}"
        self.headers = {"Authorization": f"token {workspace.token}"}

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.base}/{path}", headers=self.headers, timeout=60, allow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(f"{self.base}/{path}", headers=self.headers, timeout=60, allow_redirects=False, **kwargs)
