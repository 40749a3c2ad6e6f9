"""At the edge, outside every container: file routes, routes JupyterLab does not need, large contents reads,
tokens in URLs, plain HTTP, and the metering of every answer (workspaces', the hub's, the airlock's).

Each attempt goes through the enclave's public HTTPS entrance with alice's real token or session, at her
real workspace, and each refusal is asserted to be the EDGE's (its header `X-Enclave-Edge: refused` and
its own message), not the workspace lockdown's: the outer control is proved on its own. The inner one is
proved by test_jupyter_routes.py and test_proxy.py, which go around the edge. What is counted is read from
the ledger the edge writes (about once a second): raw bytes as sent, and the information counted.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import time
from collections import defaultdict

import pytest
import requests
import websocket

from enclave.edge.refusals import PREFIX
from enclave.egress.channels import AIRLOCK_PROJECT, HUB_PROJECT
from enclave.operations import people
from enclave.state.audit_query import AuditFilter, as_record, find_events
from enclave.state.models import EgressUsage
from tests.integration.security.lockdown import CLOSED
from tests.integration.security.probes import planted_kernelspec_code
from tests.support.edge import start_edge

STRICT_LIMIT = 16 * 1024  # the second edge's contents limit, under the lockdown's 64 KiB


class Through:
    """Alice's token in the Authorization header, sent to her workspace through an edge."""

    def __init__(self, base_url: str, workspace):
        self.base = f"{base_url}/user/{workspace.user.name}/{workspace.project}"
        self.headers = {"Authorization": f"token {workspace.token}"}

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(
            f"{self.base}/{path}",
            headers={**self.headers, **kwargs.pop("headers", {})},
            timeout=60,
            allow_redirects=False,
            **kwargs,
        )

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(f"{self.base}/{path}", headers=self.headers, timeout=60, allow_redirects=False, **kwargs)


@pytest.fixture
def edge(enclave, alice_alpha):
    return Through(enclave.url, alice_alpha)


@pytest.fixture(scope="module")
def strict_edge_url(enclave):
    """A second edge in front of the same hub, with a contents limit under the lockdown's."""
    url, process = start_edge(enclave, ENCLAVE_EDGE_MAX_FILE_CONTENT_BYTES=str(STRICT_LIMIT))
    yield url
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


def ledger(enclave, user: str, project: str) -> dict[str, tuple[int, int]]:
    """Today's (counted, raw) bytes per channel for a person and project, as the edge wrote them."""
    with enclave.ctx.db.reading() as session:
        rows = session.query(EgressUsage).filter(EgressUsage.user == user, EgressUsage.project == project)
        return {row.channel: (row.bytes, row.raw_bytes) for row in rows}


def grown(enclave, user: str, project: str, before: dict, wanted: dict[str, int], timeout: float = 60) -> dict:
    """Wait until each channel's raw bytes grew by at least `wanted[channel]` since `before`; the growth."""
    deadline = time.monotonic() + timeout
    while True:
        now = ledger(enclave, user, project)
        growth = {ch: tuple(n - b for n, b in zip(now.get(ch, (0, 0)), before.get(ch, (0, 0)))) for ch in wanted}
        if all(growth[ch][1] >= n for ch, n in wanted.items()) or time.monotonic() > deadline:
            return growth
        time.sleep(0.5)


def head_size(reply: requests.Response) -> int:
    """The status line and the headers the browser received (as they would be written on the wire), but for
    the connection's own, which the edge's server adds after counting (chunked framing, keep-alive)."""
    return len(f"HTTP/1.1 {reply.status_code} {reply.reason}\r\n\r\n") + sum(
        len(name) + len(value) + 4
        for name, value in reply.raw.headers.items()
        if name.lower() not in ("transfer-encoding", "connection", "keep-alive")
    )


def assert_no_enclave_headers(reply: requests.Response) -> None:
    assert not [h for h in reply.headers if h.lower().startswith("x-enclave-") and h.lower() != "x-enclave-edge"]


def new_person(enclave, name: str, roles=("analyst",)):
    if name not in enclave.passwords:
        enclave.passwords[name] = people.add_user(enclave.ctx, name, list(roles)).initial_password
    return enclave.login(name)


def first_row(alice_alpha, name: str) -> bytes:
    return alice_alpha.run(f"print(open('/home/analyst/{name}').readlines()[1].strip())").strip().encode()


# --- routes that hand file bytes to a browser ----------------------------------------------------------


@pytest.mark.parametrize(
    "route", ["files/{f}", "files/{f}?download=1", "view/{f}", "%66iles/{f}", "FILES/{f}", "./files/{f}", "edit/{f}"]
)
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


def test_kernelspec_resources_come_from_the_edges_copy_of_the_image_only(edge, alice_alpha, cohort_file):
    """RT-E04: fetch a kernelspec's resource file (a route that serves files from kernelspec folders)."""
    assert edge.get("api/kernelspecs").status_code == 200  # the JSON list stays open
    logo = edge.get("kernelspecs/python3/logo-64x64.png")  # the image's own logo, from the edge's copy
    assert logo.status_code == 200 and logo.content.startswith(b"\x89PNG")
    assert logo.headers["X-Enclave-Edge"] == "static"
    alice_alpha.run(planted_kernelspec_code(cohort_file))
    leak = edge.get("kernelspecs/leak/logo-64x64.png")
    assert leak.status_code == 404 and leak.headers["X-Enclave-Edge"] == "static"  # never asked of the workspace
    assert first_row(alice_alpha, cohort_file) not in leak.content


@pytest.mark.parametrize(
    "route", ["proxy/{p}/", "proxy/absolute/{p}/", "proxy/localhost:{p}/", "proxy/{p}/cohort_extract.csv"]
)
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
    behind = requests.get(
        f"{enclave.inner_url}/user/alice/alpha/api/contents/middle.csv?content=1",
        headers={"Authorization": f"token {alice_alpha.token}"},
        timeout=60,
    )
    assert behind.status_code == 200 and len(behind.json()["content"]) == 30000  # the lockdown allows it
    strict = Through(strict_edge_url, alice_alpha)
    for query in ("content=1", "format=text&type=file", "format=base64&type=file"):
        body = assert_refused_by_edge(strict.get(f"api/contents/middle.csv?{query}"))
        assert body["reason"] == "contents-too-large"
    assert edge_refusals(
        enclave, reason="contents-too-large", user="alice", route="/user/alice/alpha/api/contents/middle.csv"
    )


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


@pytest.mark.parametrize(
    "where", ["/hub/api/user", "/hub/home", "/user/alice/alpha/api/kernels", "/user/alice/alpha/lab"]
)
@pytest.mark.parametrize("name", ["token", "TOKEN", "%74oken"])
def test_a_token_in_the_url_is_refused(enclave, alice_alpha, where, name):
    """RT-E09: authenticate with ?token= in the address (hub API, hub pages, workspace API and pages)."""
    # The same token in the Authorization header works: the refusal is about where it is.
    assert (
        requests.get(
            f"{enclave.url}/hub/api/user", headers={"Authorization": f"token {alice_alpha.token}"}, timeout=30
        ).status_code
        == 200
    )
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
    posted = requests.post(
        f"{enclave.http_url}/hub/login", data={"username": "alice", "password": "x"}, timeout=30, allow_redirects=False
    )
    assert posted.status_code == 400 and posted.headers["X-Enclave-Edge"] == "refused"
    assert "only over HTTPS" in posted.text


def test_every_cookie_is_secure_through_login_and_the_workspace(enclave, carol_alpha):
    """RT-E12: a cookie set without Secure would travel in clear to a plain-HTTP address of the host."""
    seen: list[str] = []
    browser = requests.Session()
    browser.hooks["response"].append(lambda r, *a, **k: seen.extend(r.raw.headers.getlist("Set-Cookie")))
    browser.get(f"{enclave.url}/hub/login", timeout=30)
    form = {
        "username": "carol",
        "password": enclave.passwords["carol"],
        "_xsrf": browser.cookies.get("_xsrf", path="/hub/"),
    }
    assert browser.post(f"{enclave.url}/hub/login", data=form, allow_redirects=False, timeout=30).status_code == 302
    # Opening the workspace runs the hub's OAuth dance, which sets the workspace's own cookies.
    assert browser.get(f"{enclave.url}/user/carol/alpha/lab", timeout=120).status_code == 200
    names = {c.split("=", 1)[0] for c in seen}
    assert {"_xsrf", "jupyterhub-session-id", "jupyterhub-hub-login"} <= names, names
    assert any(n.startswith("jupyterhub-user-carol-alpha") for n in names), names
    for cookie in seen:
        attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert "secure" in attributes, cookie


@pytest.mark.parametrize(
    "where",
    ["/hub/login", "/hub/home", "/user/alice/alpha/lab", "/user/alice/alpha/api/status", "/services/egress-review/"],
)
def test_security_headers_on_hub_and_workspace_pages(enclave, alice_alpha, where):
    """RT-E13: every page carries the CSP that keeps scripts from talking to other origins, HSTS and friends."""
    reply = alice_alpha.user.http.get(f"{enclave.url}{where}", timeout=60)
    assert reply.status_code == 200, (where, reply.status_code)
    csp = reply.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "frame-ancestors 'self'",
        "form-action 'self'",
        "base-uri 'self'",
    ):
        assert directive in csp
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=")
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "no-referrer"


def test_the_hubs_proxy_is_not_on_a_public_address(enclave):
    """RT-E14: the hub's proxy (behind the edge) listens on loopback only."""
    result = subprocess.run(
        ["ss", "-Hltn", f"sport = :{enclave.settings.proxy_port}"], capture_output=True, text=True, check=True
    )
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


# --- routes allowed by list ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,route",
    [("GET", "api/config/notebook"), ("GET", "api/spec.yaml"), ("GET", "api/notebooks/small.txt"), ("GET", "metrics")],
)
def test_routes_jupyterlab_does_not_need_are_refused_at_the_edge(enclave, alice_alpha, edge, method, route):
    """RT-E16: ask the workspace's server for a route it has but JupyterLab never uses (its config, its API
    spec, the old notebooks API, its metrics)."""
    alice_alpha.run("open('/home/analyst/small.txt', 'w').write('small')")
    behind = requests.request(
        method,
        f"{enclave.inner_url}/user/alice/alpha/{route}",
        timeout=60,
        headers={"Authorization": f"token {alice_alpha.token}"},
        allow_redirects=False,
    )
    assert behind.status_code in (200, 301, 302), (route, behind.status_code)  # the server answers it
    body = assert_refused_by_edge(edge.get(route) if method == "GET" else edge.post(route))
    assert body["reason"] == "route-not-allowed"
    assert edge_refusals(enclave, reason="route-not-allowed", route=f"/user/alice/alpha/{route}", method=method)


def test_websockets_are_refused_on_every_other_route(enclave, alice_alpha):
    """RT-E17: open a websocket on a workspace route that is not a kernel's, a terminal's or the events'."""
    base = "wss" + enclave.url.removeprefix("https") + "/user/alice/alpha"
    for route in ("api/kernels", "lab", "api/contents/x"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(
                f"{base}/{route}", header=[f"Authorization: token {alice_alpha.token}"], timeout=30
            )
        assert refused.value.status_code == 403, route
    assert edge_refusals(enclave, reason="route-not-allowed", route="/user/alice/alpha/lab")


def test_the_exporter_list_is_the_edges_own_empty_answer(enclave, edge):
    """Control for RT-E02: JupyterLab asks for the exporter list on every notebook; the edge says there are
    none, without asking the workspace and without an audit entry (nobody attempted anything)."""
    reply = edge.get("api/nbconvert")
    assert reply.status_code == 200 and reply.json() == {}
    assert not edge_refusals(enclave, route="/user/alice/alpha/api/nbconvert", method="GET")


# --- every answer is counted against the person who receives it ------------------------------------------


def test_every_kind_of_workspace_answer_is_counted_against_its_owner_head_included(enclave, alice_alpha, edge):
    """RT-E18: take bytes out through each kind of route a workspace answers (pages, contents, other API,
    kernel and events websockets): every byte received, heads included, is in the ledger."""
    marker = secrets.token_hex(8)
    alice_alpha.run(f"open('/home/analyst/notes-{marker}.txt', 'w').write('{marker}' * 2000)")
    before = ledger(enclave, "alice", "alpha")
    received: dict[str, int] = defaultdict(int)
    for channel, route in (
        ("page", "lab"),
        ("page", "lab/tree/x.ipynb"),
        ("contents", "api/contents/"),
        ("contents", f"api/contents/notes-{marker}.txt"),
        ("other-api", "api/kernelspecs"),
        ("other-api", "lab/api/settings"),
        ("other-api", "api/sessions"),
    ):
        reply = edge.get(route, headers={"Accept-Encoding": "identity"})
        assert reply.status_code == 200, (route, reply.status_code)
        assert_no_enclave_headers(reply)
        received[channel] += len(reply.content) + head_size(reply)
    events_url = "wss" + enclave.url.removeprefix("https") + "/user/alice/alpha/api/events/subscribe"
    events = websocket.create_connection(events_url, header=[f"Authorization: token {alice_alpha.token}"], timeout=60)
    try:
        assert edge.get(f"api/contents/notes-{marker}.txt").status_code == 200  # the server emits an event
        received["websocket"] += len(events.recv())
    finally:
        events.close()
    printed = alice_alpha.run(f"print('{marker}' * 5000)")
    received["kernel"] += len(printed)
    growth = grown(enclave, "alice", "alpha", before, dict(received))
    for channel, nbytes in received.items():
        counted, raw = growth[channel]
        assert raw >= nbytes and counted > 0, (channel, growth[channel], nbytes)


def test_what_a_person_wrote_in_the_hub_is_counted_when_it_comes_back(enclave):
    """RT-E19: write a long token note in the hub and read it back through /hub/api: counted on channel
    'hub' against the person reading it (the hub names them; the edge removes the name)."""
    hugo = new_person(enclave, "hugo")
    note = base64.b64encode(secrets.token_bytes(24_000)).decode()  # 32,000 characters of information
    before = ledger(enclave, "hugo", HUB_PROJECT)
    made = hugo.api("POST", "/users/hugo/tokens", json={"note": note, "expires_in": 600})
    assert made.status_code == 201, made.text
    back = hugo.api("GET", "/users/hugo/tokens")
    assert back.status_code == 200 and note in back.text
    for reply in (made, back):
        assert_no_enclave_headers(reply)
    wanted = len(back.content) + head_size(back)
    counted, raw = grown(enclave, "hugo", HUB_PROJECT, before, {"hub": wanted})["hub"]
    assert raw >= wanted
    assert counted >= 0.74 * len(note)  # random bytes in base64: 6 bits a character, which no measure beats
    assert ledger(enclave, "hugo", "alpha") == {}  # nothing against a workspace


def test_the_airlocks_answers_are_counted_against_the_person_it_names(enclave):
    """RT-E20: read the airlock's pages: counted on channel 'airlock' against the person signed in."""
    rosa = new_person(enclave, "rosa", roles=("reviewer",))
    before = ledger(enclave, "rosa", AIRLOCK_PROJECT)
    page = rosa.http.get(f"{enclave.url}/services/egress-review/", timeout=60)  # signs in through the hub
    assert page.status_code == 200, page.status_code
    assert_no_enclave_headers(page)
    counted, raw = grown(enclave, "rosa", AIRLOCK_PROJECT, before, {"airlock": len(page.content)})["airlock"]
    assert raw >= len(page.content) and counted > 0
