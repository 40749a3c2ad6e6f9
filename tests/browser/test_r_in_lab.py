"""In real Chromium: in a project on the `r` image, JupyterLab's launcher offers R beside Python, its logo comes
from the edge, and an R console reads the project's extract."""

import re

import requests

from enclave.edge.static import MARKER
from tests.support.browser import log_in


def test_the_launcher_offers_r_and_an_r_console_reads_the_extract(page, enclave, ruth_r):
    base = f"/user/{ruth_r.user.name}/{ruth_r.project}/"
    logos = {}  # R logo address -> the X-Enclave-Edge header of its answer
    page.on(
        "response", lambda r: "/kernelspecs/ir/" in r.url and logos.update({r.url: r.headers.get("x-enclave-edge")})
    )
    log_in(page, enclave.url, ruth_r.user.name, enclave.passwords[ruth_r.user.name])
    try:
        page.goto(f"{enclave.url}{base}lab")
        page.wait_for_selector(".jp-Launcher", timeout=120_000)
        # One R card per kind of document, beside Python's; the R logo is an image that loaded (from the edge).
        r_notebook = page.locator(".jp-LauncherCard[data-category='Notebook']", has_text=re.compile(r"^R$"))
        assert page.locator(".jp-LauncherCard[data-category='Notebook']").count() == 2
        logo = r_notebook.locator("img")
        logo.wait_for(timeout=60_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=logo.element_handle())
        assert f"{base}kernelspecs/ir/logo-" in logo.get_attribute("src")  # IRkernel's SVG logo
        assert logos and set(logos.values()) == {MARKER}, logos  # answered by the edge, from the image's copy

        page.locator(".jp-LauncherCard[data-category='Console']", has_text=re.compile(r"^R$")).click()
        page.get_by_text("R | Idle").wait_for(timeout=120_000)
        prompt = page.locator(".jp-CodeConsole-promptCell .cm-content")
        prompt.click()
        prompt.fill(
            'p <- enclave::read_parquet("/data/cohort/v1/participants.parquet", columns = "sex"); '
            'cat(nrow(p), "participants,", sum(p$sex == "Female"), "women\\n")'
        )
        page.keyboard.press("Shift+Enter")
        output = page.locator(".jp-OutputArea-output", has_text="participants,")
        output.wait_for(timeout=120_000)
        assert re.fullmatch(r"\d+ participants, \d+ women", output.inner_text().strip())
    finally:
        # The workspace is shared: shut down the kernels this page started, keep the fixture's own.
        headers = {"Authorization": f"token {ruth_r.token}"}
        server = ruth_r.user.server_url(ruth_r.project)
        for kernel in requests.get(f"{server}/api/kernels", headers=headers, timeout=60).json():
            if kernel["id"] != ruth_r.kernel.kernel_id:
                requests.delete(f"{server}/api/kernels/{kernel['id']}", headers=headers, timeout=60)
