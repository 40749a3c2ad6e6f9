"""docs/security.md and the red-team suite agree: every id the page cites is a real attempt, every
attempt in the files this page's catalogue owns is cited, and no id is used twice.

Reads files only (no Docker): it runs in seconds and fails when a test is renamed or added without
the page following.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]
# The red-team suite: the security folder of each tier.
SUITES = [TESTS / tier / "security" for tier in ("unit", "integration", "browser")]
PAGE = TESTS.parent / "docs" / "security.md"
# The files whose every attempt must appear in the page (the other suites cite theirs by range).
CATALOGUED = [
    "test_network_exits.py",
    "test_cross_project.py",
    "test_host_escape.py",
    "test_cohort_data.py",
    "test_dns.py",
    "test_airlock_attempts.py",
    "test_jupyter_routes.py",
    "test_proxy.py",
    "test_lab_and_config.py",
    "test_hub_gate.py",
    "test_server_subversion.py",
    "test_exfiltration_matrix.py",
]

ID = r"RT-(?:[A-Z]+-?)?\d+[a-z]?"
RANGE = re.compile(r"RT-((?:[A-Z]+-?)?)(\d+)\.\.(?:[A-Z]+-?)?(\d+)")


def attempts() -> dict[str, list[str]]:
    """Each id in a test's docstring first line (`RT-07: ...`) -> the tests that carry it.

    A row of a parametrised matrix is an `attempt_...` function with its own id (test_exfiltration_matrix.py)."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for suite in SUITES for p in suite.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith(("test_", "attempt_")):
                match = re.match(rf"({ID}):", ast.get_docstring(node) or "")
                if match:
                    found.setdefault(match.group(1), []).append(f"{path.name}::{node.name}")
    return found


def cited() -> set[str]:
    """Every id the page names, with ranges like RT-70..77 or RT-E01..E14 spelled out."""
    text = PAGE.read_text()
    ids = set()
    for prefix, first, last in RANGE.findall(text):
        ids |= {f"RT-{prefix}{n:0{len(first)}d}" for n in range(int(first), int(last) + 1)}
    ids |= set(re.findall(rf"{ID}(?![.\d])", RANGE.sub("", text)))
    return ids


def test_every_id_the_page_cites_is_an_attempt_in_the_suite():
    assert cited() - set(attempts()) == set()


def test_every_attempt_in_the_catalogued_files_is_cited():
    mine = {i for i, tests in attempts().items() if any(t.split("::")[0] in CATALOGUED for t in tests)}
    assert len(mine) >= 30
    assert mine - cited() == set()


def test_no_id_is_used_by_two_tests():
    assert {i: tests for i, tests in attempts().items() if len(tests) > 1} == {}
