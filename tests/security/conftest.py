"""The red-team suite: attempts to get data out, each asserted to fail for the right reason.

Fixtures (the enclave, alice_alpha, ...) come from tests/support, registered in tests/conftest.py.
"""

from __future__ import annotations

import pytest
import requests

# What enclave_lockdown answers on a closed route (images/workspace/lockdown/enclave_lockdown).
CLOSED = "This route is closed in the enclave"
TOO_LARGE = "cannot be opened in the browser in the enclave"
LIMIT = 64 * 1024


class Browser:
    """Alice's own token, sent to her workspace through the hub's proxy, as her browser would.

    It goes to the hub's proxy directly (loopback, behind the edge), so that what these tests
    prove is the workspace's own lockdown; tests/security/test_edge.py proves the edge separately.
    """

    def __init__(self, workspace):
        self.base = f"{workspace.enclave.inner_url}/user/{workspace.user.name}/{workspace.project}"
        self.headers = {"Authorization": f"token {workspace.token}"}

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.base}/{path}", headers=self.headers, timeout=60, allow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(f"{self.base}/{path}", headers=self.headers, timeout=60, allow_redirects=False,
                             **kwargs)


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
