"""Real Chromium for the tests (harness/chromium.py): the `page` fixture, and `log_in`."""

from __future__ import annotations

import pytest

from harness.chromium import launch, log_in, new_context  # noqa: F401 - log_in is the tests' too


@pytest.fixture
def page(chromium_path, tmp_path):
    """A fresh browser and page; a screenshot of where it ended is left in the test's tmp folder."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p, chromium_path)
        page = new_context(browser).new_page()
        yield page
        page.screenshot(path=str(tmp_path / "last.png"))
        browser.close()
