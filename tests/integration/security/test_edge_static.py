"""Static files of a workspace come from the edge's copy of the image, never from the workspace.

The Jupyter server runs beside the analyst's code, as the same user, so anything it answers is
analyst-controlled. The edge answers every static address under /user/<u>/<s>/ itself, from the copy of the
image made by `enclave images build` (enclave/images/static_copy.py, enclave/edge/static.py). These tests use
the real images, the real hub and workspaces:

- the copy really is the image's static files (extracted from the image, links and all else left out);
- JupyterLab loads fully in Chromium with every static file answered by the edge (RT-ES02, in
  tests/browser/security/test_edge_static.py);
- files an analyst writes at static-looking places (home, ~/.local/share/jupyter) are never served, and the
  workspace's server never even sees those requests (its log, which records every miss, has none of them);
- an edge whose copy is missing makes it from the local image on first use.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
import requests

from enclave.edge.static import MARKER
from enclave.images.catalog import WORKSPACE_KINDS
from enclave.images.static_copy import KERNELS, LAB_STATIC, LABEXTENSIONS, MANIFEST, REQUIRED, copy_folder, ensure_copy
from tests.support.edge import start_edge


def every_file(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if not p.is_dir()]


@pytest.mark.parametrize("kind", WORKSPACE_KINDS)
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
    if kind == "r":  # R's kernelspec is system-wide (Debian's r-cran-irkernel), the last of the kernel folders
        assert (copy / KERNELS[3].lstrip("/") / "ir" / "logo-64x64.png").read_bytes().startswith(b"\x89PNG")
    assert (copy / LABEXTENSIONS[1].lstrip("/") / "@jupyterhub" / "jupyter-server-proxy" / "package.json").is_file()
    files = every_file(copy)
    assert len(files) > 100 and all(p.is_file() and not p.is_symlink() for p in files)
    # Made once per image: asking again keeps the same copy.
    before = (copy / MANIFEST).stat().st_mtime_ns
    assert ensure_copy(tmp_path, tag) == copy and (copy / MANIFEST).stat().st_mtime_ns == before


@pytest.mark.parametrize(
    "address",
    [
        "static/lab/leak.js",
        "static/leak.txt",
        "lab/extensions/leak/static/remoteEntry.leak.js",
        "lab/api/themes/leak/index.css",
        "kernelspecs/leak/logo-64x64.png",
        "kernelspecs/python3/leak.txt",
        "custom/custom.css",
    ],
)
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
    reply = requests.get(
        f"{enclave.url}/user/alice/alpha/{address}?v={secret[:8]}",
        headers={"Authorization": f"token {alice_alpha.token}"},
        timeout=60,
        allow_redirects=False,
    )
    assert reply.status_code == 404, (reply.status_code, reply.text[:300])
    assert reply.headers.get("X-Enclave-Edge") == MARKER
    assert secret not in reply.text
    # The workspace's server never saw the request: it logs every 404 it answers, and has none for this one.
    assert f"/user/alice/alpha/{address}" not in alice_alpha.container.logs().decode(errors="replace")


@pytest.mark.parametrize(
    "workspace, image, kernel, folder",
    [("alice_alpha", "workspace_image", "python3", KERNELS[1]), ("ruth_r", "r_image", "ir", KERNELS[3])],
)
def test_the_kernels_logo_is_the_images(request, enclave, workspace, image, kernel, folder):
    """RT-ES04: the kernel logo JupyterLab shows (Python's; R's in an `r` workspace) comes from the edge's copy
    of the image, byte for byte."""
    running, tag = request.getfixturevalue(workspace), request.getfixturevalue(image)
    reply = requests.get(
        f"{enclave.url}/user/{running.user.name}/{running.project}/kernelspecs/{kernel}/logo-64x64.png",
        headers={"Authorization": f"token {running.token}"},
        timeout=60,
    )
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "image/png"
    assert reply.headers.get("X-Enclave-Edge") == MARKER
    copy = copy_folder(enclave.settings.static_cache_dir, tag)
    assert reply.content == (copy / folder.lstrip("/") / kernel / "logo-64x64.png").read_bytes()


def test_an_edge_without_a_copy_makes_it_from_the_local_image(enclave, alice_alpha, workspace_image, tmp_path):
    """RT-ES05: a missing copy is made by the edge from the image on this machine, not asked of the workspace."""
    cache = tmp_path / "empty-cache"
    url, process = start_edge(enclave, ENCLAVE_STATIC_CACHE=str(cache))
    try:
        reply = requests.get(
            f"{url}/user/alice/alpha/static/favicons/favicon.ico",
            headers={"Authorization": f"token {alice_alpha.token}"},
            timeout=120,
        )
        assert reply.status_code == 200 and reply.headers.get("X-Enclave-Edge") == MARKER
        copy = copy_folder(cache, workspace_image)
        assert (copy / MANIFEST).is_file()
        assert reply.content == next(copy.rglob("jupyter_server/static/favicons/favicon.ico")).read_bytes()
    finally:
        process.terminate()
        process.wait(30)
