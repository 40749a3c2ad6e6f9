"""Real Chromium for the tests: one set of flags, one page fixture.

Debian's Chromium, driven by Playwright (its own browser download does not work here). The edge's
self-signed certificate is trusted for each test's browser context only: the tests that prove the
edge's TLS do so with their own clients (tests/browser/test_csp.py says why).
"""

from __future__ import annotations

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def page(chromium_path, tmp_path):
    """A fresh browser and page; a screenshot of where it ended is left in the test's tmp folder."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
        context.set_default_timeout(60_000)
        page = context.new_page()
        yield page
        page.screenshot(path=str(tmp_path / "last.png"))
        browser.close()


def goto(page, url: str, attempts: int = 3):
    """Navigate; again when Chromium aborted because the host's networks changed.

    Chromium cancels a navigation with ERR_NETWORK_CHANGED whenever a network interface comes or goes,
    and the tests create and remove Docker networks (workspaces starting and stopping) all the time.
    That says nothing about the enclave, so the navigation is tried again; any other error is raised.
    """
    from playwright.sync_api import Error

    for attempt in range(attempts):
        try:
            return page.goto(url)
        except Error as error:
            if "ERR_NETWORK_CHANGED" not in str(error) or attempt == attempts - 1:
                raise


def log_in(page, url: str, name: str, password: str, lands: str = r".*/hub/home$") -> None:
    """Sign in through the hub's login page (behind the edge at `url`) and wait to land where `lands` says."""
    import re

    goto(page, f"{url}/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(lands))
