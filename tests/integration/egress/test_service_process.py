"""``python -m egress_review`` starts as JupyterHub starts it: from the hub's
environment alone, migrating the database and sweeping staging first."""

import os
import subprocess
import sys
import time

import pytest
import requests

from tests.support.ports import free_port


def test_service_starts_from_the_hub_environment_alone(tmp_path):
    port = free_port()
    staging_tmp = tmp_path / "data" / "staging" / "tmp"
    staging_tmp.mkdir(parents=True)
    (staging_tmp / "left-by-a-crash.part").write_bytes(b"half")
    env = {
        **os.environ,
        "JUPYTERHUB_SERVICE_NAME": "egress-review",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/egress-review/",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
        "JUPYTERHUB_API_TOKEN": "not-used-here",
        "JUPYTERHUB_CLIENT_ID": "service-egress-review",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": '["access:services!service=egress-review"]',
        "EGRESS_REVIEW_DATA_DIR": str(tmp_path / "data"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "egress_review"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}/services/egress-review/"
        for _ in range(100):
            try:
                r = requests.get(url + "api/openapi.json", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("service did not start: " + proc.stdout.read1().decode(errors="replace"))
        assert r.status_code == 200 and r.json()["servers"][0]["url"] == "/services/egress-review"
        assert requests.get(url + "api/me", timeout=5).status_code == 401  # no token, no entry
        assert (tmp_path / "data" / "egress-review.sqlite").exists()
        assert list(staging_tmp.iterdir()) == []
        assert (tmp_path / "data" / "cookie_secret").stat().st_mode & 0o077 == 0
    finally:
        proc.terminate()
        proc.wait(10)
