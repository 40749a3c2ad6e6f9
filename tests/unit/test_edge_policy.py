"""The edge's decisions: every closed route, the allowlist under workspaces, what is metered on which channel,
path tricks and tokens in URLs."""

from __future__ import annotations

import pytest

from enclave.edge.paths import AmbiguousPath, canonical
from enclave.edge.policy import (
    AIRLOCK,
    AMBIGUOUS,
    CLOSED_ROUTE,
    DOWNLOAD,
    EDGE_ANSWER,
    HUB,
    NOT_ALLOWED,
    TOKEN_IN_URL,
    UNMETERED,
    WORKSPACE,
    decide,
)
from enclave.egress.channels import AIRLOCK_PROJECT, CHANNELS, HUB_PROJECT

WS = "/user/alice/alpha"


@pytest.mark.parametrize(
    "route",
    [
        "files/cohort.csv",
        "files/sub/dir/cohort.csv",
        "files/",
        "files",
        "view/cohort.csv",
        "nbconvert/html/analysis.ipynb",
        "nbconvert/html",
        "nbconvert/script/a.ipynb",
        "proxy/8000/",
        "proxy/8000/data.csv",
        "proxy/absolute/8000/",
        "proxy/localhost:8000/",
        "proxy/",
        "kernelspecs/python3/logo-64x64.png",
        "kernelspecs/evil/data.csv",
        "edit/cohort.csv",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE"])
def test_routes_that_return_file_bytes_are_closed_for_every_method(route, method):
    decision = decide(method, f"{WS}/{route}")
    assert decision.refused and decision.status == 403 and decision.reason == CLOSED_ROUTE
    assert (decision.user, decision.server) == ("alice", "alpha")
    assert "closed by the enclave's edge" in decision.message


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "DELETE"])
def test_nbconvert_api_is_closed_but_for_the_exporter_list_the_edge_answers_itself(method):
    for route in ("api/nbconvert", "api/nbconvert/", "api/NBConvert"):
        decision = decide(method, f"{WS}/{route}")
        assert decision.refused and decision.reason == CLOSED_ROUTE
    listing = decide("GET", f"{WS}/api/nbconvert")
    assert not listing.refused and listing.kind == EDGE_ANSWER and listing.answer == "{}"
    assert decide("GET", f"{WS}/api/nbconvert", websocket=True).refused
    assert decide("GET", f"{WS}/api/nbconvert/html").refused


@pytest.mark.parametrize("route", ["proxy/8000/", "files/x", "nbconvert/html/x.ipynb"])
def test_closed_routes_are_closed_to_websockets(route):
    assert decide("GET", f"{WS}/{route}", websocket=True).refused


@pytest.mark.parametrize(
    "trick",
    [
        f"{WS}/%66iles/cohort.csv",  # escaped letter
        f"{WS}/%66%69%6c%65%73/cohort.csv",  # all escaped
        f"{WS}/%46%49%4C%45%53/cohort.csv",  # upper-case hex and upper-case name
        f"{WS}/FILES/cohort.csv",  # case
        f"{WS}/Files/cohort.csv",
        f"{WS}//files/cohort.csv",  # empty segment
        f"{WS}/./files/cohort.csv",  # dot segment
        f"{WS}/%2e/files/cohort.csv",  # escaped dot segment
        f"{WS}/files",  # no trailing slash
        f"{WS}/files/",
        "/user//alice/alpha/files/x",  # empty segment before the server
        f"{WS}/Proxy/8000/",
        f"{WS}/api/NBConvert",
        f"{WS}/%70roxy/absolute/8000/",
    ],
)
def test_path_tricks_do_not_slip_past(trick):
    decision = decide("GET", trick)
    assert decision.refused, trick


@pytest.mark.parametrize(
    "ambiguous",
    [
        f"{WS}/../alpha/files/x",
        f"{WS}/api/contents/../../data",
        f"{WS}/%2e%2e/files/x",  # escaped '..'
        f"{WS}/%2E%2E/x",
        f"{WS}/api/contents/a%2fb",  # escaped slash
        f"{WS}/api/contents/a%2Fb",
        f"{WS}/api/contents/a%5cb",  # escaped backslash
        f"{WS}/%2566iles/x",  # double escape: %66 once decoded
        f"{WS}/api/contents/a%00b",  # NUL
        f"{WS}/api/contents/a\\b",  # backslash
        f"{WS}/api/contents/%zz",  # a '%' that is not an escape
        f"{WS}/api/contents/%ff%fe",  # not UTF-8
        "relative/path",
    ],
)
def test_ambiguous_paths_are_refused_not_guessed(ambiguous):
    decision = decide("GET", ambiguous)
    assert decision.refused and decision.status == 400 and decision.reason == AMBIGUOUS


@pytest.mark.parametrize(
    "query",
    [
        "token=abc",
        "TOKEN=abc",
        "Token=abc",
        "%74oken=abc",
        "%54OKEN=abc",
        "a=1&token=abc",
        "token=",
        "token",
        "access_token=abc",
        " token=abc",
        "x=1&ToKeN=abc",
    ],
)
@pytest.mark.parametrize(
    "path", ["/hub/api/users", "/hub/login", f"{WS}/api/kernels", f"{WS}/lab", "/services/egress-review/api/me", "/"]
)
def test_tokens_in_the_query_are_refused_everywhere(path, query):
    decision = decide("GET", path, query)
    assert decision.refused and decision.status == 403 and decision.reason == TOKEN_IN_URL


def test_tokens_in_the_query_are_refused_for_websockets():
    decision = decide("GET", f"{WS}/api/kernels/k1/channels", "session_id=s&token=abc", websocket=True)
    assert decision.refused and decision.reason == TOKEN_IN_URL


@pytest.mark.parametrize("query", ["tokens=1", "mytoken=1", "x=token", "next=%2Fhub%2F%3Ftoken%3Dx"])
def test_parameters_that_are_not_a_token_pass(query):
    assert not decide("GET", "/hub/home", query).refused


@pytest.mark.parametrize(
    "query", ["download=1", "download=true", "download=0", "download", "DOWNLOAD=1", "a=1&download=1"]
)
@pytest.mark.parametrize("route", ["api/contents/small.txt", "lab/tree/x.csv", "api/contents/a.ipynb", "x"])
def test_download_parameter_is_refused_under_a_workspace(route, query):
    decision = decide("GET", f"{WS}/{route}", query)
    assert decision.refused and decision.reason == DOWNLOAD


# What JupyterLab asks of its server, recorded in Chromium through the edge, with the channel each is metered on.
@pytest.mark.parametrize(
    "method,route,channel,checked",
    [
        ("GET", "", "page", False),
        ("GET", "lab", "page", False),
        ("GET", "lab/tree/analysis.ipynb", "page", False),
        ("GET", "lab/workspaces/auto-a", "page", False),
        ("GET", "oauth_callback", "page", False),
        ("GET", "lab/api/workspaces", "other-api", False),  # JupyterLab's layout JSON
        ("GET", "lab/api/workspaces/default", "other-api", False),
        ("PUT", "lab/api/workspaces/default", "other-api", False),
        ("GET", "lab/api/settings", "other-api", False),
        ("GET", "lab/api/settings/@jupyterlab/codemirror-extension:plugin", "other-api", False),
        ("PUT", "lab/api/settings/@jupyterlab/codemirror-extension:plugin", "other-api", False),
        ("GET", "lab/api/translations", "other-api", False),
        ("GET", "lab/api/translations/default", "other-api", False),
        ("GET", "lab/api/build", "other-api", False),
        ("GET", "api/contents", "contents", True),
        ("GET", "api/contents/analysis.ipynb", "contents", True),
        ("GET", "api/contents/small.txt", "contents", True),
        ("GET", "api/contents/data/checkpoints", "contents", True),
        ("PUT", "api/contents/small.txt", "contents", False),
        ("POST", "api/contents", "contents", False),
        ("PATCH", "api/contents/Untitled.ipynb", "contents", False),
        ("DELETE", "api/contents/Untitled.ipynb", "contents", False),
        ("POST", "api/contents/small.txt/checkpoints", "contents", False),
        ("POST", "api/contents/small.txt/checkpoints/checkpoint", "contents", False),
        ("GET", "api/kernels", "other-api", False),
        ("POST", "api/kernels", "other-api", False),
        ("DELETE", "api/kernels/k1", "other-api", False),
        ("POST", "api/kernels/k1/restart", "other-api", False),
        ("POST", "api/kernels/k1/interrupt", "other-api", False),
        ("GET", "api/kernelspecs", "other-api", False),
        ("GET", "api/sessions", "other-api", False),
        ("POST", "api/sessions", "other-api", False),
        ("PATCH", "api/sessions/s1", "other-api", False),
        ("DELETE", "api/sessions/s1", "other-api", False),
        ("GET", "api/terminals", "other-api", False),
        ("POST", "api/terminals", "other-api", False),
        ("DELETE", "api/terminals/1", "other-api", False),
        ("GET", "api/status", "other-api", False),
        ("GET", "api/me", "other-api", False),
        ("GET", "api/resolvePath", "other-api", False),
        ("GET", "lsp/status", "other-api", False),
        ("GET", "server-proxy/servers-info", "other-api", False),
    ],
)
def test_allowed_routes_pass_with_their_metering_channel(method, route, channel, checked):
    decision = decide(method, f"{WS}/{route}")
    assert not decision.refused, decision.message
    assert decision.kind == WORKSPACE and decision.channel == channel and decision.check_contents is checked
    assert (decision.user, decision.server) == ("alice", "alpha")
    assert channel in CHANNELS


@pytest.mark.parametrize(
    "method,route",
    [
        ("GET", "api/notebooks/analysis.ipynb"),  # the old name of api/contents: JupyterLab does not use it
        ("GET", "api/config/notebook"),
        ("PATCH", "api/config/notebook"),
        ("POST", "api/shutdown"),
        ("GET", "tree/analysis.ipynb"),
        ("GET", "notebooks/analysis.ipynb"),
        ("GET", "doc/tree/x"),
        ("GET", "api/spec.yaml"),
        ("GET", "api/kernels/k1/channels"),  # the kernel websocket's address, not upgraded
        ("GET", "lab/api/extensions"),
        ("POST", "lab/api/extensions"),
        ("POST", "lab/api/build"),
        ("DELETE", "lab/api/settings/@jupyterlab/x:plugin"),
        ("POST", "api/sessions/s1"),
        ("PUT", "api/kernels"),
        ("GET", "sparkui/jobs/"),  # an app nobody declared
        ("GET", "my-own-route"),
        ("POST", "lab"),
        ("HEAD", "lab"),
        ("OPTIONS", "api/contents"),
        ("GET", "API/contents/x"),
        ("GET", "Lab"),
        ("GET", "metrics"),
        ("GET", "api/yjs/x"),
        ("POST", "static/x.js"),
        ("GET", "api/contents2"),
        ("GET", "lab/api/workspaces/a/b"),
        # Static addresses are the edge's own answer from its copy of the image (enclave.edge.static), asked
        # before this list: never in it, so never relayed.
        ("GET", "static/lab/main.js"),
        ("GET", "lab/extensions/x/static/remoteEntry.js"),
        ("GET", "lab/api/themes/@jupyterlab/theme-light-extension/index.css"),
        ("GET", "custom/custom.css"),
    ],
)
def test_everything_else_under_a_workspace_is_refused(method, route):
    decision = decide(method, f"{WS}/{route}")
    assert decision.refused and decision.status == 403 and decision.reason == NOT_ALLOWED, route
    assert (decision.user, decision.server) == ("alice", "alpha")
    assert "only the requests JupyterLab needs" in decision.message


@pytest.mark.parametrize("route", ["api/kernels/k1/channels", "terminals/websocket/1", "api/events/subscribe"])
def test_websockets_pass_only_on_their_own_routes(route):
    assert not decide("GET", f"{WS}/{route}", websocket=True).refused
    assert decide("POST", f"{WS}/{route}", websocket=True).refused
    for other in ("api/kernels", "lab", "api/contents/x", "api/terminals", "api/events"):
        assert decide("GET", f"{WS}/{other}", websocket=True).reason == NOT_ALLOWED


def test_kernel_terminal_and_other_websockets_are_metered_on_their_channels():
    assert decide("GET", f"{WS}/api/kernels/k1/channels", "session_id=s", websocket=True).channel == "kernel"
    assert decide("GET", f"{WS}/terminals/websocket/1", websocket=True).channel == "terminal"
    assert decide("GET", f"{WS}/api/events/subscribe", websocket=True).channel == "websocket"


def test_declared_apps_pass_and_are_metered_as_apps_while_proxy_stays_closed():
    apps = frozenset({"sparkui"})
    assert decide("GET", f"{WS}/sparkui/jobs/", declared_apps=apps).channel == "app"
    assert decide("POST", f"{WS}/sparkui/jobs/kill", declared_apps=apps).channel == "app"
    assert decide("GET", f"{WS}/sparkui/ws", websocket=True, declared_apps=apps).channel == "app"
    assert decide("GET", f"{WS}/sparkui/jobs/").reason == NOT_ALLOWED  # undeclared: refused like any route
    assert decide("GET", f"{WS}/proxy/4040/", declared_apps=apps).refused


def test_the_launchers_release_results_entry_is_no_route_through_the_edge():
    """jupyter-server-proxy makes /release-results/ for the launcher card (enclave_lockdown/launcher.py);
    the card opens the airlock instead, and the edge refuses the route like any undeclared app's."""
    from enclave.settings import EnclaveSettings

    apps = frozenset(EnclaveSettings().edge_declared_apps)
    assert "release-results" not in apps
    for rest in ("release-results/", "release-results/anything"):
        assert decide("GET", f"{WS}/{rest}", declared_apps=apps).reason == NOT_ALLOWED
    assert decide("GET", f"{WS}/server-proxy/servers-info", declared_apps=apps).channel == "other-api"


@pytest.mark.parametrize(
    "path",
    [
        "/hub/login",
        "/hub/home",
        "/hub/api/users/alice",
        "/hub/token",
        "/hub/spawn/alice/alpha",
        "/hub/api/users/alice/servers/alpha/progress",
        "/hub/api/oauth2/authorize",
        "/",
        "/favicon.ico",
        "/user/alice/",
        "/user/alice",
        "/hub/logo/x",
    ],
)
def test_the_hubs_answers_are_metered_against_the_recipient_it_names(path):
    decision = decide("GET", path)
    assert not decision.refused and decision.kind == HUB and decision.channel == "hub"
    assert decision.default_project == HUB_PROJECT and not decision.check_contents


@pytest.mark.parametrize("path", ["/hub/static/js/home.js", "/hub/logo"])
def test_the_hubs_static_files_are_not_metered(path):
    decision = decide("GET", path)
    assert not decision.refused and decision.kind == UNMETERED and decision.channel is None


@pytest.mark.parametrize(
    "path", ["/services/egress-review/", "/services/egress-review/requests/3", "/services/egress-review/api/requests"]
)
def test_the_airlocks_answers_are_metered_against_the_recipient_it_names(path):
    decision = decide("POST", path)
    assert not decision.refused and decision.kind == AIRLOCK and decision.channel == "airlock"
    assert decision.default_project == AIRLOCK_PROJECT


def test_other_services_and_websockets_outside_workspaces_are_refused():
    assert decide("GET", "/services/other/").reason == NOT_ALLOWED
    assert decide("GET", "/hub/api/events", websocket=True).reason == NOT_ALLOWED
    assert decide("GET", "/services/egress-review/ws", websocket=True).reason == NOT_ALLOWED


def test_the_airlock_download_of_a_release_is_not_a_workspace_download():
    assert not decide("GET", "/services/egress-review/releases/7/files/3", "download=1").refused


def test_a_server_named_like_a_closed_route_is_refused():
    # /user/alice/files/... would be the files route of a default server: refused, not guessed.
    assert decide("GET", "/user/alice/files/x").refused


def test_canonical_form():
    path = canonical("/user/a//b/./c/%41/")
    assert path.segments == ("user", "a", "b", "c", "A") and path.text == "/user/a/b/c/A/"
    with pytest.raises(AmbiguousPath):
        canonical("/a/%2F")
