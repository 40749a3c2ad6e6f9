"""Test-suite-wide rules.

Integration and browser tests need a Docker engine (and Chromium). Under CI
(CI=true) their absence FAILS the run; on a developer's machine the tests
that need them are skipped with the reason. `make test` installs both.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Fail under CI, skip elsewhere, when a real component is missing."""
    if condition:
        return
    message = f"{what} is not available; run 'make test', which installs it"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing component is a failure, never a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception:  # noqa: BLE001 - any failure means no usable engine
        client = None
    require(client is not None, "A Docker engine")
    return client


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "Chromium")
    return path


pytest_plugins = ["tests.support.fixtures", "tests.support.workspaces"]
