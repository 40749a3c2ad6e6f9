"""The suite's layout is its tiers: every test file lives under tests/unit, tests/integration or tests/browser.

The tier's marker comes from that folder (tests/conftest.py), so a file never sets one of its own; test
modules import nothing from other test modules (what they share is in tests/support/); and no unit test
asks for Docker or Chromium, so `make test-unit` (pytest tests/unit) runs everywhere.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
TIERS = ("unit", "integration", "browser")
# Fixtures that need a Docker engine or Chromium; each of the others (images, workspaces) asks for one of these.
COMPONENT_FIXTURES = {"docker_client", "enclave", "chromium_path", "page"}


def every_test_file() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def relative(path: Path) -> str:
    return path.relative_to(TESTS).as_posix()


def test_every_test_file_lives_under_a_tier():
    assert len(every_test_file()) > 100
    assert [relative(p) for p in every_test_file() if p.relative_to(TESTS).parts[0] not in TIERS] == []


def test_only_tier_folders_and_support_are_under_tests():
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {*TIERS, "support"}


def test_no_file_sets_a_tier_marker_of_its_own():
    tier_mark = re.compile(rf"\bpytest\.mark\.({'|'.join(TIERS)})\b")
    own = {relative(p): tier_mark.findall(p.read_text()) for p in TESTS.rglob("*.py")}
    assert {name: marks for name, marks in own.items() if marks} == {}


def test_no_module_imports_a_test_module_or_a_conftest():
    """Shared fixtures and helpers are in tests/support/: nothing imports a test file or a conftest."""
    imports = {}
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("tests.") and name.split(".")[-1].startswith(("test_", "conftest")):
                    imports.setdefault(relative(path), []).append(name)
    assert imports == {}


def test_no_unit_test_needs_docker_or_chromium():
    """Collected for real (each test's whole fixture closure), in a separate pytest that only collects."""
    code = (
        "import sys, pytest\n"
        "class Report:\n"
        "    def pytest_collection_finish(self, session):\n"
        "        for item in session.items:\n"
        "            print('ITEM', item.nodeid, *sorted(getattr(item, 'fixturenames', ())))\n"
        "sys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', 'tests/unit'], plugins=[Report()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=TESTS.parent, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    items = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("ITEM ")]
    assert len(items) > 1000
    assert {
        nodeid: sorted(COMPONENT_FIXTURES & set(fixtures))
        for nodeid, *fixtures in items
        if COMPONENT_FIXTURES & set(fixtures)
    } == {}
