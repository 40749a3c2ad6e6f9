"""One style for the whole tree: ruff's lint and format checks (settings in pyproject.toml) pass, run as the tool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("check", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff_passes_on_the_whole_tree(check):
    done = subprocess.run([sys.executable, "-m", "ruff", *check], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (
        f"ruff {' '.join(check)} found:\n{done.stdout}{done.stderr}\n"
        "Fix it, or run 'ruff check --fix . && ruff format .'."
    )
