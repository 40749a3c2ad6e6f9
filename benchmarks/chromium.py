"""Real Chromium for the benchmarks: a Playwright page, and logging in through the hub's form.

Flags as in tests/browser. The edge's certificate is self-signed and Playwright has no per-context
way to trust one certificate, so the context ignores HTTPS errors (tests/browser/test_csp.py says
more); the HTTP clients of the benchmarks verify it.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@contextmanager
def chromium_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
            yield context.new_page()
        finally:
            browser.close()


def goto(page, url: str, attempts: int = 3):
    """page.goto, again when Chromium aborted it because the machine's networks changed.

    Docker networks come and go on a shared machine (other runs' workspaces); Chromium then aborts
    loads in flight with ERR_NETWORK_CHANGED, which says nothing about the enclave.
    """
    for attempt in range(attempts):
        try:
            return page.goto(url)
        except Exception as e:  # noqa: BLE001 - only that one error is retried
            if "ERR_NETWORK_CHANGED" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(1)


def log_in(page, base_url: str, name: str, password: str) -> None:
    """The hub's login form, as a person fills it in; lands on the hub's home page."""
    goto(page, f"{base_url}/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(r".*/hub/home$"), timeout=60_000)


def start_from_home(page, base_url: str, user: str, project: str, timeout_s: float = 300) -> None:
    """Start the project's workspace with its button on the hub's home page; wait for JupyterLab's launcher."""
    goto(page, f"{base_url}/hub/home")
    page.click(f"#start-{project}")
    page.wait_for_url(re.compile(rf".*/user/{user}/{project}/lab.*"), timeout=timeout_s * 1000)
    page.wait_for_selector(".jp-Launcher", timeout=timeout_s * 1000)
