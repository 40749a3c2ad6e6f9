"""The benchmarks import nothing from tests/: what both need is in harness/."""

from __future__ import annotations

import ast
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_benchmark_imports_the_tests():
    modules = sorted(BENCHMARKS.glob("*.py"))
    assert len(modules) > 10
    offending = {
        path.name: sorted(m for m in imported_modules(path) if m == "tests" or m.startswith("tests."))
        for path in modules
    }
    assert {name: found for name, found in offending.items() if found} == {}
