"""Fixtures for the disclosure-check tests: write a file, run the checks on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from egress_review.checks import CheckContext, ChecksConfig, run_checks


@pytest.fixture
def write(tmp_path: Path):
    def _write(name: str, content: bytes | str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return _write


@pytest.fixture
def check(write):
    """Write a file and run every check on it: check(name, content, **context) -> results."""

    def _check(name: str, content: bytes | str, config: ChecksConfig | None = None, **context):
        path = write(name, content)
        return run_checks(path, CheckContext(config=config or ChecksConfig(), **context))

    return _check
