"""Static files of a workspace come from the edge's copy of the image, never from the workspace.

The Jupyter server runs beside the analyst's code, as the same user, so anything it answers is
analyst-controlled. The edge answers every static address under /user/<u>/<s>/ itself, from the copy of the
image made by `enclave images build` (enclave/images/static_copy.py, enclave/edge/static.py). These tests use
the real images, the real hub and workspaces, and real Chromium:

- the copy really is the image's static files (extracted from the image, links and all else left out);
- JupyterLab loads fully in Chromium with every static file answered by the edge, the kernel's logo shown;
  a file that exists only in the edge's copy is what the browser gets, so the answers are the edge's;
- files an analyst writes at static-looking places (home, ~/.local/share/jupyter) are never served, and the
  workspace's server never even sees those requests (its log, which records every miss, has none of them);
- an edge whose copy is missing makes it from the local image on first use.

About the certificate: as in tests/browser/test_csp.py, the Chromium context ignores HTTPS errors (the edge's
certificate is self-signed); the HTTP tests verify it.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from enclave.edge.static import MARKER, static_route
from enclave.images.static_copy import (KERNELS, LAB_STATIC, LABEXTENSIONS, MANIFEST, REQUIRED, copy_folder,
                                        ensure_copy)
from tests.support.enclave import free_port, hub_environment
from tests.support.browser import log_in
from tests.support.hub import trust

PROOF = "static/lab/enclave-edge-proof.txt"  # exists in the edge's copy only, never in an image


def start_edge(enclave, cache: Path):
    """Another edge in front of the same hub, with its own copy folder; returns (url, process)."""
    port = free_port()
    env = {**hub_environment(enclave.settings), "ENCLAVE_PUBLIC_PORT": str(port), "ENCLAVE_STATIC_CACHE": str(cache)}
    process = subprocess.Popen([sys.executable, "-m", "enclave.edge"], env=env, cwd=enclave.settings.hub_dir,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    trust(url, enclave.ca_file)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/hub/login", timeout=2).status_code == 200:
                return url, process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.terminate()
    pytest.fail("the test's edge did not answer")


@pytest.fixture(scope="module")
def proven_edge(enclave, workspace_image, tmp_path_factory):
    """An edge whose copy of the workspace image holds one more file than the image: PROOF."""
    cache = tmp_path_factory.mktemp("static-cache")
    copy = ensure_copy(cache, workspace_image)
    proof = secrets.token_hex(16)
    (copy / LAB_STATIC.lstrip("/") / Path(PROOF).name).write_text(proof)
    url, process = start_edge(enclave, cache)
    yield url, proof
    process.terminate()
    process.wait(30)


def every_file(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if not p.is_dir()]


@pytest.mark.parametrize("kind", ["workspace", "genomics"])
def test_the_copy_is_the_images_static_files(request, kind, tmp_path):
    """RT-ES01: the edge's copy of an image holds its static files, and nothing that points out of it."""
    tag = request.getfixturevalue(f"{kind}_image")
    copy = ensure_copy(tmp_path, tag)
    assert copy == copy_folder(tmp_path, tag) and (copy / MANIFEST).is_file()
    for folder in REQUIRED:
        assert (copy / folder.lstrip("/")).is_dir(), folder
    # JupyterLab's page names its bundle; the copy has it, and the Python kernel's logos.
    template = (copy / LAB_STATIC.lstrip("/") / "index.html").read_text()
    (bundle,) = set(re.findall(r"/(main\.[0-9a-f]+\.js)", template))
    assert (copy / LAB_STATIC.lstrip("/") / bundle).stat().st_size > 100_000
    assert (copy / KERNELS[1].lstrip("/") / "python3" / "logo-64x64.png").read_bytes().startswith(b"\x89PNG")
    assert (copy / LABEXTENSIONS[1].lstrip("/") / "@jupyterhub" / "jupyter-server-proxy" / "package.json").is_file()
    files = every_file(copy)
    assert len(files) > 100 and all(p.is_file() and not p.is_symlink() for p in files)
    # Made once per image: asking again keeps the same copy.
    before = (copy / MANIFEST).stat().st_mtime_ns
    assert ensure_copy(tmp_path, tag) == copy and (copy / MANIFEST).stat().st_mtime_ns == before


@pytest.mark.browser
def test_jupyterlab_loads_with_every_static_file_from_the_edge(enclave, proven_edge, page):
    """RT-ES02: JupyterLab in Chromium gets every static file from the edge's copy, none from the workspace."""
    url, proof = proven_edge
    base = "/user/dave/gamma/"
    dave = enclave.login("dave")
    assert dave.start("gamma").status_code in (201, 202)
    static: list[tuple[str, int, str | None]] = []  # (address under the server, status, X-Enclave-Edge)

    def record(response):
        path = urlsplit(response.url).path
        if path.startswith(base) and static_route(tuple(s for s in path[len(base):].split("/") if s)):
            static.append((path[len(base):], response.status, response.headers.get("x-enclave-edge")))

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
    finally:
        dave.stop("gamma")
    addresses = {address for address, _, _ in static}
    # The page's static files are the image's: JupyterLab's bundle, an extension, a theme, the kernel's logo.
    for expected in (r"static/lab/main\.[0-9a-f]+\.js", r"lab/extensions/@jupyterhub/jupyter-server-proxy/.+",
                     r"lab/api/themes/@jupyterlab/theme-light-extension/index\.css", r"kernelspecs/python3/logo.+",
                     r"static/favicons/favicon[-a-z0-9]*\.ico"):
        assert any(re.fullmatch(expected, a) for a in addresses), (expected, sorted(addresses))
    # Every one of them was answered by the edge, and found.
    assert [s for s in static if s[2] != MARKER] == []
    assert [s for s in static if s[1] not in (200, 304)] == []


@pytest.mark.parametrize("address", [
    "static/lab/leak.js",
    "static/leak.txt",
    "lab/extensions/leak/static/remoteEntry.leak.js",
    "lab/api/themes/leak/index.css",
    "kernelspecs/leak/logo-64x64.png",
    "kernelspecs/python3/leak.txt",
    "custom/custom.css",
])
def test_an_analysts_files_at_static_addresses_are_never_served(enclave, alice_alpha, address):
    """RT-ES03: write data where a Jupyter server could take it for a static file, then fetch it at the edge."""
    secret = secrets.token_hex(24)
    name = Path(address).name
    alice_alpha.run(
        "import os, json\n"
        f"secret, name, address = {secret!r}, {name!r}, {address!r}\n"
        "places = ['/home/analyst/' + address,\n"
        "          '/home/analyst/.local/share/jupyter/labextensions/leak/static/' + name,\n"
        "          '/home/analyst/.local/share/jupyter/lab/themes/leak/' + name,\n"
        "          '/home/analyst/.local/share/jupyter/kernels/leak/' + name,\n"
        "          '/home/analyst/.jupyter/custom/' + name]\n"
        "for place in places:\n"
        "    os.makedirs(os.path.dirname(place), exist_ok=True)\n"
        "    open(place, 'w').write(secret)\n"
        "open('/home/analyst/.local/share/jupyter/kernels/leak/kernel.json', 'w').write(\n"
        "    json.dumps({'argv': ['python3'], 'display_name': secret, 'language': 'python'}))\n"
    )
    reply = requests.get(f"{enclave.url}/user/alice/alpha/{address}?v={secret[:8]}",
                         headers={"Authorization": f"token {alice_alpha.token}"}, timeout=60, allow_redirects=False)
    assert reply.status_code == 404, (reply.status_code, reply.text[:300])
    assert reply.headers.get("X-Enclave-Edge") == MARKER
    assert secret not in reply.text
    # The workspace's server never saw the request: it logs every 404 it answers, and has none for this one.
    assert f"/user/alice/alpha/{address}" not in alice_alpha.container.logs().decode(errors="replace")


def test_the_kernels_logo_is_the_images(enclave, alice_alpha, workspace_image):
    """RT-ES04: the kernel logo JupyterLab shows comes from the edge's copy of the image, byte for byte."""
    reply = requests.get(f"{enclave.url}/user/alice/alpha/kernelspecs/python3/logo-64x64.png",
                         headers={"Authorization": f"token {alice_alpha.token}"}, timeout=60)
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "image/png"
    assert reply.headers.get("X-Enclave-Edge") == MARKER
    copy = copy_folder(enclave.settings.static_cache_dir, workspace_image)
    assert reply.content == (copy / KERNELS[1].lstrip("/") / "python3" / "logo-64x64.png").read_bytes()


def test_an_edge_without_a_copy_makes_it_from_the_local_image(enclave, alice_alpha, workspace_image, tmp_path):
    """RT-ES05: a missing copy is made by the edge from the image on this machine, not asked of the workspace."""
    cache = tmp_path / "empty-cache"
    url, process = start_edge(enclave, cache)
    try:
        reply = requests.get(f"{url}/user/alice/alpha/static/favicons/favicon.ico",
                             headers={"Authorization": f"token {alice_alpha.token}"}, timeout=120)
        assert reply.status_code == 200 and reply.headers.get("X-Enclave-Edge") == MARKER
        copy = copy_folder(cache, workspace_image)
        assert (copy / MANIFEST).is_file()
        assert reply.content == next(copy.rglob("jupyter_server/static/favicons/favicon.ico")).read_bytes()
    finally:
        process.terminate()
        process.wait(30)
