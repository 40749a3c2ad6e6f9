"""Static files of a workspace come from the edge's copy of the image, never from the workspace: in Chromium.

JupyterLab loads fully in Chromium with every static file answered by the edge, the kernel's logo shown; a file
that exists only in the edge's copy is what the browser gets, so the answers are the edge's. The other attempts
(the copy itself, an analyst's files at static addresses, a missing copy) are in
tests/integration/security/test_edge_static.py.

About the certificate: as in tests/browser/test_csp.py, the Chromium context ignores HTTPS errors (the edge's
certificate is self-signed); the HTTP tests of the integration tier verify it.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from enclave.edge.static import MARKER, static_route
from enclave.images.static_copy import LAB_STATIC, ensure_copy
from tests.support.browser import log_in
from tests.support.edge import start_edge

PROOF = "static/lab/enclave-edge-proof.txt"  # exists in the edge's copy only, never in an image


@pytest.fixture(scope="module")
def proven_edge(enclave, workspace_image, tmp_path_factory):
    """An edge whose copy of the workspace image holds one more file than the image: PROOF."""
    cache = tmp_path_factory.mktemp("static-cache")
    copy = ensure_copy(cache, workspace_image)
    proof = secrets.token_hex(16)
    (copy / LAB_STATIC.lstrip("/") / Path(PROOF).name).write_text(proof)
    url, process = start_edge(enclave, ENCLAVE_STATIC_CACHE=str(cache))
    yield url, proof
    process.terminate()
    process.wait(30)


def test_jupyterlab_loads_with_every_static_file_from_the_edge(enclave, proven_edge, page):
    """RT-ES02: JupyterLab in Chromium gets every static file from the edge's copy, none from the workspace."""
    url, proof = proven_edge
    base = "/user/dave/gamma/"
    dave = enclave.login("dave")
    assert dave.start("gamma").status_code in (201, 202)
    static: list[tuple[str, int, str | None]] = []  # (address under the server, status, X-Enclave-Edge)

    def record(response):
        path = urlsplit(response.url).path
        if path.startswith(base) and static_route(tuple(s for s in path[len(base) :].split("/") if s)):
            static.append((path[len(base) :], response.status, response.headers.get("x-enclave-edge")))

    page.on("response", record)
    try:
        log_in(page, url, "dave", enclave.passwords["dave"])
        page.goto(f"{url}{base}lab")
        page.wait_for_selector(".jp-Launcher", timeout=120_000)
        # The kernel's logo on the launcher is shown (an image that loaded), not a broken image.
        logo = page.locator(".jp-LauncherCard[data-category='Notebook'] img").first
        logo.wait_for(timeout=60_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=logo.element_handle())
        assert "/kernelspecs/python3/" in logo.get_attribute("src")
        page.click(".jp-LauncherCard[data-category='Notebook']")
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
        # What the browser gets at PROOF is the edge's copy: the image (and so the workspace) has no such file.
        fetched = page.evaluate(f"() => fetch('{base}{PROOF}').then(r => r.text())")
        assert fetched == proof
        # The page's icon, asked for as the page names it: headless Chromium fetches favicons only sometimes,
        # and a cached answer raises no response event, so the fetch bypasses the cache.
        icon = page.evaluate("() => document.querySelector('link[rel~=icon]').href")
        assert page.evaluate("href => fetch(href, {cache: 'no-store'}).then(r => r.status)", icon) == 200
    finally:
        dave.stop("gamma")
    addresses = {address for address, _, _ in static}
    # The page's static files are the image's: JupyterLab's bundle, an extension, a theme, the kernel's logo.
    for expected in (
        r"static/lab/main\.[0-9a-f]+\.js",
        r"lab/extensions/@jupyterhub/jupyter-server-proxy/.+",
        r"lab/api/themes/@jupyterlab/theme-light-extension/index\.css",
        r"kernelspecs/python3/logo.+",
        r"static/favicons/favicon[-a-z0-9]*\.ico",
    ):
        assert any(re.fullmatch(expected, a) for a in addresses), (expected, sorted(addresses))
    # Every one of them was answered by the edge, and found.
    assert [s for s in static if s[2] != MARKER] == []
    assert [s for s in static if s[1] not in (200, 304)] == []
