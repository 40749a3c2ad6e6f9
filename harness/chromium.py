"""Real Chromium for the tests and the benchmarks, seeing the enclave as an analyst's browser does.

Debian's Chromium, driven by Playwright (Playwright's own browser download does not work here).

Chromium watches the machine's network interfaces and, when one comes or goes, aborts what it has in
flight (page loads, fetches, websockets) with ERR_NETWORK_CHANGED. On the enclave's own host Docker
adds a bridge or a veth whenever a workspace starts and removes it when it stops, so a browser there
loses requests at random: 22 of 40 fetches in flight failed while four containers started
(tests/browser/test_chromium_harness.py makes that churn). An analyst's browser is on another machine and never sees
those interfaces. So Chromium runs here through chromium_blind.py, which denies it netlink sockets:
unable to watch, Chromium treats the network as always online (0 of 40 failed, same churn).

The edge's certificate is self-signed and Playwright cannot trust one certificate per context, so
contexts ignore HTTPS errors; the tests that prove the edge's TLS use their own clients
(tests/browser/test_csp.py says why).
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

BLIND_LAUNCHER = str(Path(__file__).with_name("chromium_blind.py"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 900}


def chromium_executable() -> str | None:
    """Debian's Chromium on this machine, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright, chromium: str | None = None):
    """A headless Chromium that cannot see interfaces change (the module's docstring says why)."""
    chromium = chromium or chromium_executable()
    if chromium is None:
        raise RuntimeError("Chromium is not installed: run 'make chromium'.")
    return playwright.chromium.launch(
        executable_path=BLIND_LAUNCHER, args=ARGS, headless=True, env={**os.environ, "ENCLAVE_CHROMIUM": chromium}
    )


def new_context(browser, default_timeout_ms: int = 60_000):
    context = browser.new_context(viewport=VIEWPORT, ignore_https_errors=True)
    context.set_default_timeout(default_timeout_ms)
    return context


@contextmanager
def chromium_page(chromium: str | None = None):
    """A fresh browser and one page in it, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p, chromium)
        try:
            yield new_context(browser).new_page()
        finally:
            browser.close()


def log_in(page, url: str, name: str, password: str, lands: str = r".*/hub/home$") -> None:
    """Sign in through the hub's login page (behind the edge at `url`) and wait to land where `lands` says."""
    page.goto(f"{url}/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(lands))
