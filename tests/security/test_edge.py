"""At the edge, outside every container: file routes, large contents reads, tokens in URLs, plain HTTP.

Each attempt goes through the enclave's public HTTPS entrance with alice's real token or session, at her
real workspace, and each refusal is asserted to be the EDGE's (its header `X-Enclave-Edge: refused` and
its own message), not the workspace lockdown's: the outer control is proved on its own. The inner one is
proved by test_jupyter_routes.py and test_proxy.py, which go around the edge.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
import websocket

from enclave.edge.refusals import PREFIX
from enclave.state.audit_query import AuditFilter, as_record, find_events
from tests.security.conftest import CLOSED, LIMIT
from tests.support.enclave import free_port, hub_environment
from tests.support.hub import trust

pytestmark = pytest.mark.integration

STRICT_LIMIT = 16 * 1024  # the second edge's contents limit, under the lockdown's 64 KiB


class Through:
    """Alice's token in the Authorization header, sent to her workspace through an edge."""

    def __init__(self, base_url: str, workspace):
        self.base = f"{base_url}/user/{workspace.user.name}/{workspace.project}"
        self.headers = {"Authorization": f"token {workspace.token}"}

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.base}/{path}", headers={**self.headers, **kwargs.pop("headers", {})},
                            timeout=60, allow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(f"{self.base}/{path}", headers=self.headers, timeout=60, allow_redirects=False,
                             **kwargs)


@pytest.fixture
def edge(enclave, alice_alpha):
    return Through(enclave.url, alice_alpha)


@pytest.fixture(scope="module")
def strict_edge_url(enclave):
    """A second edge in front of the same hub, with a contents limit under the lockdown's."""
    port = free_port()
    env = {**hub_environment(enclave.settings), "ENCLAVE_PUBLIC_PORT": str(port),
           "ENCLAVE_EDGE_MAX_FILE_CONTENT_BYTES": str(STRICT_LIMIT)}
    process = subprocess.Popen([sys.executable, "-m", "enclave.edge"], env=env, cwd=enclave.settings.hub_dir,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    trust(url, enclave.ca_file)
    try:
        for _ in range(100):
            try:
                if requests.get(f"{url}/hub/login", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            pytest.fail("the second edge did not answer")
        yield url
    finally:
        process.terminate()
        process.wait(30)


def assert_refused_by_edge(reply: requests.Response, status: int = 403, secret: bytes = b"") -> dict:
    assert reply.status_code == status, (reply.status_code, reply.text[:300])
    assert reply.headers.get("X-Enclave-Edge") == "refused"
    body = reply.json()
    assert body["message"].startswith(PREFIX)
    assert CLOSED not in reply.text  # not the workspace lockdown's answer
    if secret:
        assert secret not in reply.content
    return body


def edge_refusals(enclave, **match) -> list[dict]:
    with enclave.ctx.db.reading() as session:
        records = [as_record(e) for e in find_events(session, AuditFilter(action="edge.refused"))]
    return [r for r in records if all(r["details"].get(k) == v for k, v in match.items())]


def first_row(alice_alpha, name: str) -> bytes:
    return alice_alpha.run(f"print(open('/home/analyst/{name}').readlines()[1].strip())").strip().encode()


# --- routes that hand file bytes to a browser ----------------------------------------------------------

@pytest.mark.parametrize("route", ["files/{f}", "files/{f}?download=1", "view/{f}", "%66iles/{f}", "FILES/{f}",
                                   "./files/{f}", "edit/{f}"])
def test_file_routes_refuse_a_cohort_file_at_the_edge(enclave, edge, alice_alpha, cohort_file, route):
    """RT-E01: download a cohort file through /files/, /view/, /edit/ and disguised spellings of them."""
    assert edge.get(f"api/contents/{cohort_file}?content=0").status_code == 200  # the file is there
    path = route.format(f=cohort_file)
    assert_refused_by_edge(edge.get(path), secret=first_row(alice_alpha, cohort_file))
    assert edge_refusals(enclave, reason="closed-route", user="alice", project="alpha")


def test_nbconvert_export_is_refused_at_the_edge(edge, small_notebook):
    """RT-E02: export a notebook through /nbconvert/<format>/<path>, and a posted one through POST."""
    assert edge.get(f"api/contents/{small_notebook}").status_code == 200
    assert_refused_by_edge(edge.get(f"nbconvert/html/{small_notebook}?download=true"))
    assert_refused_by_edge(edge.get(f"nbconvert/script/{small_notebook}"))
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert_refused_by_edge(edge.post("nbconvert/html", json=notebook))
    assert_refused_by_edge(edge.post("api/nbconvert", json=notebook))


def test_download_parameter_is_refused_at_the_edge(enclave, edge, alice_alpha):
    """RT-E03: ask for any workspace address with ?download=1."""
    alice_alpha.run("open('/home/analyst/small.txt', 'w').write('small')")
    assert edge.get("api/contents/small.txt").status_code == 200  # without it, the read works
    assert_refused_by_edge(edge.get("api/contents/small.txt?download=1"))
    assert edge_refusals(enclave, reason="download-parameter", user="alice")


def test_kernelspec_resources_are_refused_at_the_edge(edge):
    """RT-E04: fetch a kernelspec's resource file (a route that serves files from kernelspec folders)."""
    assert edge.get("api/kernelspecs").status_code == 200  # the JSON list stays open
    assert_refused_by_edge(edge.get("kernelspecs/python3/logo-64x64.png"))


@pytest.mark.parametrize("route", ["proxy/{p}/", "proxy/absolute/{p}/", "proxy/localhost:{p}/",
                                   "proxy/{p}/cohort_extract.csv"])
def test_proxy_to_a_web_server_in_the_workspace_is_refused_at_the_edge(edge, web_server, route):
    """RT-E05: reach `python -m http.server` in the workspace through jupyter-server-proxy."""
    reply = edge.get(route.format(p=web_server))
    assert_refused_by_edge(reply)
    assert "Directory listing" not in reply.text


def test_proxy_websocket_is_refused_at_the_edge(enclave, alice_alpha, web_server):
    """RT-E06: open a websocket through /proxy/<port>/."""
    url = "wss" + enclave.url.removeprefix("https") + f"/user/alice/alpha/proxy/{web_server}/"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, header=[f"Authorization: token {alice_alpha.token}"], timeout=30)
    assert refused.value.status_code == 403
    assert refused.value.resp_headers.get("x-enclave-edge") == "refused"


# --- contents reads --------------------------------------------------------------------------------------

def test_contents_reads_over_the_edges_limit_are_refused_by_the_edge(enclave, alice_alpha, strict_edge_url):
    """RT-E07: read a file the lockdown lets through (under 64 KiB) but over the edge's limit."""
    alice_alpha.run("import os; open('/home/analyst/middle.csv', 'w').write('1,2,3\\n' * 5000)")  # 30000 bytes
    behind = requests.get(f"{enclave.inner_url}/user/alice/alpha/api/contents/middle.csv?content=1",
                          headers={"Authorization": f"token {alice_alpha.token}"}, timeout=60)
    assert behind.status_code == 200 and len(behind.json()["content"]) == 30000  # the lockdown allows it
    strict = Through(strict_edge_url, alice_alpha)
    for query in ("content=1", "format=text&type=file", "format=base64&type=file"):
        body = assert_refused_by_edge(strict.get(f"api/contents/middle.csv?{query}"))
        assert body["reason"] == "contents-too-large"
    assert edge_refusals(enclave, reason="contents-too-large", user="alice", route="/user/alice/alpha/api/contents/middle.csv")


def test_the_edge_passes_listings_notebooks_and_small_files(alice_alpha, strict_edge_url):
    """Control for RT-E07: listings, notebooks (whatever their size) and small files pass the edge's check."""
    alice_alpha.run(
        "import nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell('x' * 100000)])\n"
        "nbformat.write(nb, '/home/analyst/big.ipynb')\n"
        "open('/home/analyst/tiny.txt', 'w').write('tiny')\n"
    )
    strict = Through(strict_edge_url, alice_alpha)
    assert strict.get("api/contents/").status_code == 200
    notebook = strict.get("api/contents/big.ipynb")
    assert notebook.status_code == 200 and len(notebook.json()["content"]["cells"][0]["source"]) == 100000
    assert strict.get("api/contents/tiny.txt?format=text&type=file").json()["content"] == "tiny"


def test_a_large_cohort_file_never_reaches_the_browser(edge, alice_alpha, cohort_file):
    """RT-E08: read a cohort extract over 64 KiB through the contents API, through the edge."""
    reply = edge.get(f"api/contents/{cohort_file}?format=base64&type=file")
    assert reply.status_code == 403 and "content" not in reply.json()
    assert first_row(alice_alpha, cohort_file) not in reply.content


# --- tokens in URLs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["/hub/api/user", "/hub/home", "/user/alice/alpha/api/kernels",
                                   "/user/alice/alpha/lab"])
@pytest.mark.parametrize("name", ["token", "TOKEN", "%74oken"])
def test_a_token_in_the_url_is_refused(enclave, alice_alpha, where, name):
    """RT-E09: authenticate with ?token= in the address (hub API, hub pages, workspace API and pages)."""
    # The same token in the Authorization header works: the refusal is about where it is.
    assert requests.get(f"{enclave.url}/hub/api/user", headers={"Authorization": f"token {alice_alpha.token}"},
                        timeout=30).status_code == 200
    reply = requests.get(f"{enclave.url}{where}?{name}={alice_alpha.token}", timeout=30, allow_redirects=False)
    body = assert_refused_by_edge(reply)
    assert body["reason"] == "token-in-url"
    events = edge_refusals(enclave, reason="token-in-url")
    assert events and all(alice_alpha.token not in json.dumps(e) for e in events)  # never the token itself


def test_a_token_in_a_websocket_url_is_refused(enclave, alice_alpha):
    """RT-E10: open a kernel's websocket with ?token= in the address."""
    kernel = alice_alpha.kernel.kernel_id
    url = "wss" + enclave.url.removeprefix("https") + f"/user/alice/alpha/api/kernels/{kernel}/channels"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{url}?token={alice_alpha.token}", timeout=30)
    assert refused.value.status_code == 403
    assert edge_refusals(enclave, reason="token-in-url", route=f"/user/alice/alpha/api/kernels/{kernel}/channels")
    # With the token in the header, the same websocket opens: the kernel itself is fine.
    ws = websocket.create_connection(url, header=[f"Authorization: token {alice_alpha.token}"], timeout=30)
    ws.close()


# --- HTTPS, cookies and headers --------------------------------------------------------------------------

def test_plain_http_is_redirected_for_get_and_refused_otherwise(enclave):
    """RT-E11: talk to the public port in plain HTTP."""
    reply = requests.get(f"{enclave.http_url}/hub/login", timeout=30, allow_redirects=False)
    assert reply.status_code == 301 and reply.headers["Location"] == f"{enclave.url}/hub/login"
    posted = requests.post(f"{enclave.http_url}/hub/login", data={"username": "alice", "password": "x"},
                           timeout=30, allow_redirects=False)
    assert posted.status_code == 400 and posted.headers["X-Enclave-Edge"] == "refused"
    assert "only over HTTPS" in posted.text


def test_every_cookie_is_secure_through_login_and_the_workspace(enclave, carol_alpha):
    """RT-E12: a cookie set without Secure would travel in clear to a plain-HTTP address of the host."""
    seen: list[str] = []
    browser = requests.Session()
    browser.hooks["response"].append(lambda r, *a, **k: seen.extend(r.raw.headers.getlist("Set-Cookie")))
    browser.get(f"{enclave.url}/hub/login", timeout=30)
    form = {"username": "carol", "password": enclave.passwords["carol"],
            "_xsrf": browser.cookies.get("_xsrf", path="/hub/")}
    assert browser.post(f"{enclave.url}/hub/login", data=form, allow_redirects=False, timeout=30).status_code == 302
    # Opening the workspace runs the hub's OAuth dance, which sets the workspace's own cookies.
    assert browser.get(f"{enclave.url}/user/carol/alpha/lab", timeout=120).status_code == 200
    names = {c.split("=", 1)[0] for c in seen}
    assert {"_xsrf", "jupyterhub-session-id", "jupyterhub-hub-login"} <= names, names
    assert any(n.startswith("jupyterhub-user-carol-alpha") for n in names), names
    for cookie in seen:
        attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert "secure" in attributes, cookie


@pytest.mark.parametrize("where", ["/hub/login", "/hub/home", "/user/alice/alpha/lab", "/user/alice/alpha/api/status",
                                   "/services/egress-review/"])
def test_security_headers_on_hub_and_workspace_pages(enclave, alice_alpha, where):
    """RT-E13: every page carries the CSP that keeps scripts from talking to other origins, HSTS and friends."""
    reply = alice_alpha.user.http.get(f"{enclave.url}{where}", timeout=60)
    assert reply.status_code == 200, (where, reply.status_code)
    csp = reply.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "connect-src 'self'", "img-src 'self' data: blob:",
                      "frame-ancestors 'self'", "form-action 'self'", "base-uri 'self'"):
        assert directive in csp
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=")
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "no-referrer"


def test_the_hubs_proxy_is_not_on_a_public_address(enclave):
    """RT-E14: the hub's proxy (behind the edge) listens on loopback only."""
    result = subprocess.run(["ss", "-Hltn", f"sport = :{enclave.settings.proxy_port}"], capture_output=True,
                            text=True, check=True)
    listeners = [line.split()[3] for line in result.stdout.splitlines()]
    assert listeners and all(address.startswith("127.0.0.1:") for address in listeners), listeners


def test_terminals_work_through_the_edge(enclave, alice_alpha, edge):
    """Control: a terminal's websocket is relayed both ways by the edge (and metered as 'terminal')."""
    reply = requests.post(f"{edge.base}/api/terminals", headers=edge.headers, timeout=60)
    assert reply.status_code == 200, reply.text
    name = reply.json()["name"]
    url = "wss" + enclave.url.removeprefix("https") + f"/user/alice/alpha/terminals/websocket/{name}"
    ws = websocket.create_connection(url, header=[f"Authorization: token {alice_alpha.token}"], timeout=60)
    try:
        ws.send(json.dumps(["stdin", "echo through-the-$((6*7))-edge\r"]))
        output = ""
        while "through-the-42-edge" not in output:
            message = json.loads(ws.recv())
            if message[0] == "stdout":
                output += message[1]
    finally:
        ws.close()
        requests.delete(f"{edge.base}/api/terminals/{name}", headers=edge.headers, timeout=60)
