"""The red-team suite: attempts to get data out, each asserted to fail for the right reason.

Every attempt's docstring starts with its stable id (`RT-NN: ...`), which docs/security.md cites.
Fixtures (the enclave, alice_alpha, ...) come from tests/support, registered in tests/conftest.py.
`assert_audited` finds the record a refused attempt left in the audit log.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
import requests

from enclave.state.audit_query import AuditFilter, as_record, find_events

# What enclave_lockdown answers on a closed route (images/workspace/lockdown/enclave_lockdown).
CLOSED = "This route is closed in the enclave"
TOO_LARGE = "cannot be opened in the browser in the enclave"
LIMIT = 64 * 1024
WEB_SERVER_PORT = 8765  # the analyst's own web server in the workspace (proxy attempts)


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


# --- the audit log ------------------------------------------------------------------------------

AIRLOCK_PREFIX = "egress."  # how the one audit log names events forwarded from the airlock


def _matches(record: dict, match: dict) -> bool:
    """Each key is a top-level field (actor, target, outcome, request_id) or a key of its details."""
    details = record.get("details") or {}
    if isinstance(details, str):
        details = json.loads(details)
    nested = details.get("details") if isinstance(details.get("details"), dict) else {}
    for key, wanted in match.items():
        found = [record[key]] if key in record else []
        found += [d[key] for d in (details, nested) if key in d]
        if not any(wanted(v) if callable(wanted) else v == wanted for v in found):
            return False
    return True


def enclave_events(enclave, action: str) -> list[dict]:
    with enclave.ctx.db.reading() as session:
        return [as_record(e) for e in find_events(session, AuditFilter(action=action))]


def airlock_events(enclave, event: str) -> list[dict]:
    """The airlock's own chain (read-only), for events not (yet) forwarded into the enclave's log."""
    path = enclave.settings.state_path / "airlock" / "egress-review.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM audit_log WHERE event = ? ORDER BY id", (event,)).fetchall()
    return [{**dict(row), "action": row["event"], "details": json.loads(row["details"])} for row in rows]


def assert_audited(enclave, action: str, /, **match) -> dict:
    """The audit entry recording `action` whose fields match; returned for further checks.

    Looks in the enclave's log first (where the airlock's events land, prefixed `egress.`, once they
    are forwarded there), then in the airlock's own log.
    """
    candidates = [r for name in (action, AIRLOCK_PREFIX + action) for r in enclave_events(enclave, name)
                  if r["action"] == name]
    if not any(_matches(r, match) for r in candidates):
        candidates += airlock_events(enclave, action)
    hits = [r for r in candidates if _matches(r, match)]
    assert hits, f"no audit entry {action} matching {match}; entries for that action: {candidates[-5:]}"
    return hits[-1]


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
