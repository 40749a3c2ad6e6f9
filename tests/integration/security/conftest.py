"""The red-team suite: attempts to get data out, each asserted to fail for the right reason.

Every attempt's docstring starts with its stable id (`RT-NN: ...`), which docs/security.md cites.
Fixtures (the enclave, alice_alpha, ...) come from tests/support, registered in tests/conftest.py; these are
the integration tier's own. `assert_audited` (tests/support/audit_log.py) finds the record a refused attempt
left in the audit log; lockdown.py holds what the workspace's lockdown answers.
"""

from __future__ import annotations

import pytest

from tests.integration.security.lockdown import LIMIT, WEB_SERVER_PORT, Browser


@pytest.fixture
def browser(alice_alpha):
    return Browser(alice_alpha)


@pytest.fixture
def cohort_file(alice_alpha):
    """A cohort extract in alice's home folder, as an analyst would make before trying to take it out."""
    out = alice_alpha.run(
        "import polars as pl, os\n"
        "pl.read_parquet('/data/cohort/v1/participants.parquet').write_csv('/home/analyst/cohort_extract.csv')\n"
        "print(os.path.getsize('/home/analyst/cohort_extract.csv'))\n"
    )
    assert int(out) > LIMIT, "the extract must be larger than the contents API's limit for the test to mean anything"
    return "cohort_extract.csv"


@pytest.fixture
def small_notebook(alice_alpha):
    alice_alpha.run(
        "import nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('print(1)')])\n"
        "nbformat.write(nb, '/home/analyst/analysis.ipynb')\n"
    )
    return "analysis.ipynb"


@pytest.fixture
def web_server(alice_alpha):
    """`python -m http.server` serving the home folder, started from alice's kernel."""
    port = WEB_SERVER_PORT
    alice_alpha.run(
        "import subprocess, sys, time, urllib.request\n"
        f"server = subprocess.Popen([sys.executable, '-m', 'http.server', '{port}', '--bind', '127.0.0.1'],"
        " cwd='/home/analyst', stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "for _ in range(50):\n"
        "    try:\n"
        f"        urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=1); break\n"
        "    except OSError:\n"
        "        time.sleep(0.2)\n"
    )
    # It really serves inside the container: a refusal in a test is the route's, not a dead port.
    status = alice_alpha.run(f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/').status)")
    assert status.strip() == "200"
    yield port
    alice_alpha.run("server.terminate(); server.wait()")
