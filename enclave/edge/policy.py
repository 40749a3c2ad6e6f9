"""What the edge does with a request: refuse it (and why), answer it itself, or pass it, metered how.

A pure function of the request line and the operator's declared apps, so
every rule is unit-tested (tests/unit/test_edge_policy.py).

Every response that can carry bytes an analyst influenced is metered
against the person who receives it (enclave.egress.channels):

- Under a workspace (`/user/<user>/<server>/`), routes are ALLOWED BY LIST,
  by method, websockets apart: `WORKSPACE_ROUTES` holds what JupyterLab 4
  (with jupyter-server-proxy and the enclave's lockdown) asks for, recorded
  from a real session in Chromium. Everything else is refused
  (`route-not-allowed`), whatever the method. Every allowed response is
  metered against the path's owner and server; the workspace never chooses
  (it runs the analyst's code beside its server). Static addresses (static/,
  lab/extensions/, lab/api/themes/, kernelspecs/<kernel>/, custom/) are not in
  the list: the edge answers them from its copy of the image
  (enclave.edge.static) before the list is consulted, and never relays them.
- The hub (`/hub/`, and every address outside `/user/<u>/<s>/` and
  `/services/`) is metered on channel "hub" against the person the hub names
  in its response (enclave.hub.recipient); its static files and logo are not.
- The airlock (`/services/egress-review/`) is metered on channel "airlock"
  against the person (and project) it names in its response.

Closed with their own reasons (kept for the audit log's readers), for every
method, websockets included, because each hands file bytes to a browser or
runs code that does: `files/`, `view/`, `nbconvert/`, `proxy/` (operator
declared apps are at `/<app name>/` instead), `kernelspecs/` (the image's own
logos come from the edge's static copy), `edit/`, and `?download=`.

`GET api/nbconvert` (the exporter list JupyterLab asks for whenever a notebook
opens) is answered by the edge itself with no exporters: refusing it would
fill the audit log with refusals nobody attempted.

Anywhere (hub, services, workspaces): a `token` or `access_token` query
parameter is refused; tokens go in the Authorization header.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from ..closed_routes import CLOSED_ROUTES
from ..egress.channels import AIRLOCK_PROJECT, HUB_PROJECT
from .paths import AmbiguousPath, CanonicalPath, canonical

AIRLOCK_SERVICE = "egress-review"  # egress_review.config.SERVICE_NAME
TOKEN_PARAMETERS = frozenset({"token", "access_token"})

# Reasons, also the `reason` of the audit event.
AMBIGUOUS = "ambiguous-path"
TOKEN_IN_URL = "token-in-url"
CLOSED_ROUTE = "closed-route"
DOWNLOAD = "download-parameter"
NOT_ALLOWED = "route-not-allowed"

# What kind of answer a request gets.
WORKSPACE = "workspace"  # relayed, metered against the path's owner and server
HUB = "hub"  # relayed, metered against the recipient the hub names (HUB_PROJECT)
AIRLOCK = "airlock"  # relayed, metered against the recipient (and project) the airlock names
UNMETERED = "unmetered"  # relayed, not analyst-controlled (the hub's static files)
EDGE_ANSWER = "edge-answer"  # answered by the edge itself (`answer`)

NO_EXPORTERS = "{}"
CLOSED_MESSAGE = (
    "This route is closed by the enclave's edge: it would send file bytes to the browser. Results "
    "leave through the airlock (egress review)."
)  # api/nbconvert: JupyterLab offers no "Export as" formats


@dataclass(frozen=True)
class Route:
    """One allowed kind of request under a workspace: methods, a path pattern and its metering channel.

    Pattern items are literal segments, "*" (exactly one segment) or "**" (any
    number, none included; last only). Matching is exact, case included, as
    the Jupyter server's own routes are.
    """

    methods: frozenset[str]
    pattern: tuple[str, ...]
    channel: str
    websocket: bool = False

    def matches(self, method: str, rest: tuple[str, ...], websocket: bool) -> bool:
        if websocket != self.websocket or method not in self.methods:
            return False
        pattern = self.pattern
        if pattern and pattern[-1] == "**":
            pattern = pattern[:-1]
            if len(rest) < len(pattern):
                return False
            rest = rest[: len(pattern)]
        elif len(rest) != len(pattern):
            return False
        return all(p == "*" or p == segment for p, segment in zip(pattern, rest))


def _routes(channel: str, methods: str, *patterns: str, websocket: bool = False) -> list[Route]:
    return [Route(frozenset(methods.split()), tuple(p.split("/")) if p else (), channel, websocket) for p in patterns]


# What JupyterLab 4.6 asks of its server (recorded in Chromium through the edge: log in, spawn, lab,
# notebook run and save, console, terminal, settings editor, file browser, a CSV, a text file, kernel
# restart), plus the calls @jupyterlab/services makes on buttons of the same pages (interrupt, shut down,
# rename, delete, checkpoints).
WORKSPACE_ROUTES: tuple[Route, ...] = tuple(
    [
        # Pages: the server's root redirects to lab; oauth_callback completes the hub's login.
        *_routes("page", "GET", "", "lab", "lab/tree/**", "lab/workspaces/**", "oauth_callback", "logout"),
        *_routes("contents", "GET PUT POST PATCH DELETE", "api/contents/**"),
        *_routes("kernel", "GET", "api/kernels/*/channels", websocket=True),
        *_routes("terminal", "GET", "terminals/websocket/*", websocket=True),
        *_routes("websocket", "GET", "api/events/subscribe", websocket=True),
        *_routes(
            "other-api",
            "GET",
            "api",
            "api/status",
            "api/me",
            "api/kernelspecs",
            "api/kernelspecs/*",
            "lsp/status",
            "server-proxy/servers-info",
        ),
        # Where a file path printed in an output is (JupyterLab links such paths): the resolved path, no content.
        *_routes("other-api", "GET", "api/resolvePath"),
        *_routes("other-api", "GET POST", "api/kernels", "api/sessions", "api/terminals"),
        *_routes("other-api", "GET DELETE", "api/kernels/*", "api/terminals/*"),
        *_routes("other-api", "POST", "api/kernels/*/interrupt", "api/kernels/*/restart"),
        *_routes("other-api", "GET PATCH DELETE", "api/sessions/*"),
        *_routes(
            "other-api",
            "GET",
            "lab/api/build",
            "lab/api/settings",
            "lab/api/translations",
            "lab/api/translations/*",
            "lab/api/workspaces",
        ),
        *_routes("other-api", "GET PUT", "lab/api/settings/*/**"),  # ids hold a '/' (@scope/package:plugin)
        *_routes("other-api", "GET PUT DELETE", "lab/api/workspaces/*"),
    ]
)


@dataclass(frozen=True)
class Decision:
    refused: bool = False
    status: int = 200
    reason: str = ""  # machine-readable, one of the constants above
    message: str = ""  # for the person who sent the request
    route: str = ""  # the canonical path (or the raw one when it could not be made canonical)
    user: str | None = None  # the workspace's owner and server, when the path is under /user/<u>/<s>/
    server: str | None = None
    rest: tuple[str, ...] | None = None  # the canonical segments under /user/<u>/<s>/ (None elsewhere)
    kind: str = WORKSPACE  # WORKSPACE, HUB, AIRLOCK, UNMETERED or EDGE_ANSWER
    channel: str | None = None  # the metering channel; None when not metered
    default_project: str | None = None  # HUB and AIRLOCK: what the response is counted under unless named
    check_contents: bool = False  # the response must pass the contents size check
    answer: str = ""  # EDGE_ANSWER: the JSON body the edge sends


def _refuse(status: int, reason: str, message: str, route: str, user=None, server=None, rest=None) -> Decision:
    return Decision(
        refused=True, status=status, reason=reason, message=message, route=route, user=user, server=server, rest=rest
    )


def has_token_parameter(query: str) -> bool:
    """Is a token carried in the query string (any case, escaped or not)?"""
    return any(key.strip().lower() in TOKEN_PARAMETERS for key, _ in parse_qsl(query, keep_blank_values=True))


def has_download_parameter(query: str) -> bool:
    return any(key.strip().lower() == "download" for key, _ in parse_qsl(query, keep_blank_values=True))


def _workspace_parts(path: CanonicalPath) -> tuple[str, str, tuple[str, ...]] | None:
    """(user, server, rest) for a path under /user/<user>/<server>/, else None."""
    segments = path.segments
    if len(segments) >= 3 and segments[0] == "user":
        return segments[1], segments[2], segments[3:]
    return None


def workspace_channel(method: str, rest: tuple[str, ...], websocket: bool, declared_apps: frozenset[str]) -> str | None:
    """The metering channel of an allowed request under a workspace, or None when it is not allowed."""
    if rest[:1] and rest[0] in declared_apps:
        return "app"  # an operator-declared jupyter-server-proxy app: every method, websockets included
    for route in WORKSPACE_ROUTES:
        if route.matches(method, rest, websocket):
            return route.channel
    return None


def _outside_workspaces(path: CanonicalPath, route: str, websocket: bool) -> Decision:
    segments = path.segments
    if websocket:  # neither the hub nor the airlock has one
        return _refuse(403, NOT_ALLOWED, "The enclave's edge lets websockets through to workspaces only.", route)
    if segments[:2] == ("hub", "static") or segments == ("hub", "logo"):  # the hub's files, the operator's logo
        return Decision(route=route, kind=UNMETERED)
    if segments[:1] == ("services",):
        if segments[1:2] == (AIRLOCK_SERVICE,):
            return Decision(route=route, kind=AIRLOCK, channel="airlock", default_project=AIRLOCK_PROJECT)
        return _refuse(403, NOT_ALLOWED, "This enclave has no such service.", route)
    # The hub answers everything else, /user/<name>/ without a server included (its redirects).
    return Decision(route=route, kind=HUB, channel="hub", default_project=HUB_PROJECT)


def decide(
    method: str, raw_path: str, query: str = "", *, websocket: bool = False, declared_apps: frozenset[str] = frozenset()
) -> Decision:
    """Decide for one request. `raw_path` is the path as sent (still escaped), `query` the raw query string."""
    method = method.upper()
    try:
        path = canonical(raw_path)
    except AmbiguousPath as why:
        return _refuse(
            400,
            AMBIGUOUS,
            f"This address is ambiguous ({why}); the enclave refuses it. "
            "Use the address without escapes, '..' or '\\'.",
            raw_path,
        )
    route = path.text
    parts = _workspace_parts(path)
    user, server, rest = parts if parts else (None, None, ())
    if has_token_parameter(query):
        return _refuse(
            403,
            TOKEN_IN_URL,
            "A token in the address is refused: it would be kept in browser "
            "history and logs. Send it in the Authorization header instead.",
            route,
            user,
            server,
        )
    if parts is None:
        return _outside_workspaces(path, route, websocket)
    lowered = tuple(s.lower() for s in rest)
    closed = (lowered[:1] and lowered[0] in CLOSED_ROUTES) or server.lower() in CLOSED_ROUTES
    if closed:
        return _refuse(403, CLOSED_ROUTE, CLOSED_MESSAGE, route, user, server, rest)
    if has_download_parameter(query):
        return _refuse(
            403,
            DOWNLOAD,
            "Downloads are closed by the enclave's edge. Results leave through the airlock (egress review).",
            route,
            user,
            server,
            rest,
        )
    if rest == ("api", "nbconvert") and method == "GET" and not websocket:
        return Decision(route=route, user=user, server=server, rest=rest, kind=EDGE_ANSWER, answer=NO_EXPORTERS)
    if lowered[:2] == ("api", "nbconvert"):
        return _refuse(403, CLOSED_ROUTE, CLOSED_MESSAGE, route, user, server, rest)
    channel = workspace_channel(method, rest, websocket, declared_apps)
    if channel is None:
        return _refuse(
            403,
            NOT_ALLOWED,
            f"The enclave's edge lets through only the requests JupyterLab needs; "
            f"{method} {'(websocket) ' if websocket else ''}on this address is not one of them.",
            route,
            user,
            server,
            rest,
        )
    return Decision(
        route=route,
        user=user,
        server=server,
        rest=rest,
        channel=channel,
        check_contents=method == "GET" and channel == "contents",
    )
