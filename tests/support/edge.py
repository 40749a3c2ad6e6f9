"""Another edge in front of an enclave's hub, with settings of its own (a copy folder, a smaller limit): for
the tests of what an edge does when it is configured otherwise than the enclave's own."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from tests.support.enclave import free_port, hub_environment
from tests.support.hub import trust


def start_edge(enclave, **environment: str) -> tuple[str, subprocess.Popen]:
    """An edge on a free port with the enclave's settings and `environment` over them: (its url, its process).

    The caller stops it: process.terminate(), process.wait().
    """
    port = free_port()
    env = {**hub_environment(enclave.settings), "ENCLAVE_PUBLIC_PORT": str(port), **environment}
    process = subprocess.Popen(
        [sys.executable, "-m", "enclave.edge"],
        env=env,
        cwd=enclave.settings.hub_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    trust(url, enclave.ca_file)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/hub/login", timeout=2).status_code == 200:
                return url, process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.terminate()
    pytest.fail("the test's edge did not answer")
