"""Real Chromium for the benchmarks (harness/chromium.py), and starting a workspace as a person does."""

from __future__ import annotations

import re

from harness.chromium import chromium_page, log_in  # noqa: F401 - the benchmarks' too


def start_from_home(page, base_url: str, user: str, project: str, timeout_s: float = 300) -> None:
    """Start the project's workspace with its button on the hub's home page; wait for JupyterLab's launcher."""
    page.goto(f"{base_url}/hub/home")
    page.click(f"#start-{project}")
    page.wait_for_url(re.compile(rf".*/user/{user}/{project}/lab.*"), timeout=timeout_s * 1000)
    page.wait_for_selector(".jp-Launcher", timeout=timeout_s * 1000)
