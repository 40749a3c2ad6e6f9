"""In real Chromium: an analyst logs in, starts the project's workspace, and JupyterLab shows the data."""

import re

from tests.support.browser import log_in


def test_analyst_logs_in_starts_workspace_and_lists_the_data(page, enclave):
    enclave.login("alice").stop("alpha")  # start from a stopped workspace, whatever ran before
    log_in(page, enclave.url, "alice", enclave.passwords["alice"])  # lands on the project list

    # The home page lists the analyst's projects; beta (not hers) is not there.
    page.goto(f"{enclave.url}/hub/home")
    assert page.locator("tr[data-server-name]").evaluate_all("rows => rows.map(r => r.dataset.serverName)") == ["alpha"]
    page.click("#start-alpha")
    page.wait_for_url(re.compile(r".*/user/alice/alpha/lab.*"), timeout=180_000)
    page.wait_for_selector(".jp-Launcher", timeout=120_000)
    # The file browser shows the analyst's home: their folders, and no data files.
    page.wait_for_selector(".jp-DirListing-item[title^='Name: outbox']", timeout=60_000)

    # The data lives outside the Jupyter root: list it from a console, as an analyst would.
    page.click(".jp-LauncherCard[data-category='Console']")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
    prompt = page.locator(".jp-CodeConsole-promptCell .cm-content")
    prompt.click()
    prompt.fill("import os; print(sorted(os.listdir('/data/cohort/v1')))")
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-OutputArea-output", has_text="participants.parquet")
    output.wait_for(timeout=60_000)
    assert "baseline.parquet" in output.inner_text()
    enclave.login("alice").stop("alpha")
