"""Test-suite-wide rules.

A test's tier is the first folder under tests/ it lives in: unit (no Docker, no browser), integration (real
hub, Docker, kernels, databases) or browser (real Chromium); the tier's marker is set here, from the folder,
and no test file sets one of its own. A test under a `security` folder (the red-team suite, in each tier)
is marked `security` too. tests/unit/test_suite_layout.py holds the suite to this.

Integration and browser tests need a Docker engine (and Chromium). Under CI
(CI=true) their absence FAILS the run; on a developer's machine the tests
that need them are skipped with the reason. `make test` installs both.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Variables that name an installation. `make` exports the live one's (its state folder), and an operator
# may have set a database or a WORM anchor copy: a test run must never write there (a test run beside a
# live demo once added its own lines to the demo's audit anchor). Each run gets its own instead.
INSTALLATION_VARIABLES = ("ENCLAVE_DB_URL", "ENCLAVE_AUDIT_ANCHOR_COPY", "ENCLAVE_TLS_CERT", "ENCLAVE_TLS_KEY")

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "browser")


def pytest_configure(config):
    os.environ["ENCLAVE_STATE_DIR"] = tempfile.mkdtemp(prefix="enclave-test-run-")
    os.environ["ENCLAVE_INSTANCE"] = f"enctest-run-{secrets.token_hex(3)}"
    # `enclave init` and `demo seed` point the account's later commands at what they made: not the operator's.
    os.environ["ENCLAVE_POINTER_FILE"] = os.path.join(os.environ["ENCLAVE_STATE_DIR"], "pointer.json")
    # The tests' installations are demos whose people log in with passwords; tests of the second factor
    # (tests/unit/test_login_guard.py, the TOTP tests) set it on themselves.
    os.environ["ENCLAVE_REQUIRE_SECOND_FACTOR"] = "false"
    # Their state folders are plain temporary folders; tests/integration/test_encrypted_state.py makes an
    # encrypted one, and shows a plain one refused without this.
    os.environ["ENCLAVE_ALLOW_UNENCRYPTED_STATE"] = "true"
    # The idle culler looks every 10 s (tests/integration/test_idle_culling.py waits for it); the installation
    # default stays 4 hours, so only that test's project is culled.
    os.environ["ENCLAVE_IDLE_CULL_EVERY"] = "10"
    for name in INSTALLATION_VARIABLES:
        os.environ.pop(name, None)


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items):
    """Mark each test with its tier, from its folder, and `security` when it is in a security folder."""
    for item in items:
        folders = tier_folders(Path(item.path))
        if folders and folders[0] in TIERS:
            item.add_marker(folders[0])
        if "security" in folders:
            item.add_marker("security")


def tier_folders(path: Path) -> tuple[str, ...]:
    """The folders between tests/ and the file: ("integration", "security") for a red-team integration test."""
    try:
        return path.resolve().relative_to(TESTS).parts[:-1]
    except ValueError:  # a test outside tests/ has no tier
        return ()


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


pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.workspaces",
    "tests.support.browser",
    "tests.support.postgres",
    "tests.support.notify",
]
