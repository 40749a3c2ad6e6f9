"""What the edge does with a request: refuse it (and why), or pass it, metered on which channel.

A pure function of the request line and the operator's declared apps, so
every rule is unit-tested (tests/unit/test_edge_policy.py).

Closed under a workspace (`/user/<user>/<server>/`), for every method,
websockets included, because each hands file bytes to a browser or runs code
that does:

- `files/`, `view/`: a file's bytes, as a download or inline.
- `nbconvert/` and `api/nbconvert`: a notebook or a posted notebook exported.
- `proxy/` (`proxy/<port>`, `proxy/absolute/<port>`, `proxy/<host>:<port>`):
  any web server the analyst starts. Operator-declared apps are served at
  `/<app name>/` instead and stay open (setting `edge_declared_apps`).
- `kernelspecs/`: a kernelspec's resource files, which a user-writable
  kernelspec could fill with anything (the JSON list, `api/kernelspecs`,
  stays open; JupyterLab then shows a letter instead of the Python logo).
- `edit/`: the classic file editor page.
- `?download=` with any value.

`lab/api/workspaces` stays open: it is JupyterLab's layout (which files are
open where), JSON written by the browser itself, never file content. Contents
reads (`GET api/contents/...`) pass, but their responses are checked by the
edge (enclave.edge.contents): a file's content over the limit is refused.

Anywhere (hub, services, workspaces): a `token` or `access_token` query
parameter is refused; tokens go in the Authorization header.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from .paths import AmbiguousPath, CanonicalPath, canonical

CLOSED_ROUTES = frozenset({"files", "view", "nbconvert", "proxy", "kernelspecs", "edit"})
TOKEN_PARAMETERS = frozenset({"token", "access_token"})
STATIC_PREFIXES = (("static",), ("lab", "static"), ("lab", "extensions"), ("custom",))

# Reasons, also the `reason` of the audit event.
AMBIGUOUS = "ambiguous-path"
TOKEN_IN_URL = "token-in-url"
CLOSED_ROUTE = "closed-route"
DOWNLOAD = "download-parameter"


@dataclass(frozen=True)
class Decision:
    refused: bool = False
    status: int = 200
    reason: str = ""  # machine-readable, one of the constants above
    message: str = ""  # for the person who sent the request
    route: str = ""  # the canonical path (or the raw one when it could not be made canonical)
    user: str | None = None  # the workspace's owner and server, when the path is under /user/
    server: str | None = None
    channel: str | None = None  # the metering channel, None when not metered
    check_contents: bool = False  # the response must pass the contents size check


def _refuse(status: int, reason: str, message: str, route: str, user=None, server=None) -> Decision:
    return Decision(refused=True, status=status, reason=reason, message=message, route=route, user=user,
                    server=server)


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


def _channel(method: str, rest: tuple[str, ...], websocket: bool, declared_apps: frozenset[str]) -> str | None:
    lowered = tuple(s.lower() for s in rest)
    if lowered[:1] == ("api",) and lowered[1:2] == ("kernels",) and websocket:
        return "kernel"
    if lowered[:2] == ("terminals", "websocket"):
        return "terminal"
    if lowered[:2] in (("api", "contents"), ("api", "notebooks")):
        return "contents"
    if rest[:1] and rest[0] in declared_apps:
        return "app"
    if lowered[:1] == ("api",) or lowered[:2] == ("lab", "api"):
        return "other-api"
    return None


def decide(method: str, raw_path: str, query: str = "", *, websocket: bool = False,
           declared_apps: frozenset[str] = frozenset()) -> Decision:
    """Decide for one request. `raw_path` is the path as sent (still escaped), `query` the raw query string."""
    method = method.upper()
    try:
        path = canonical(raw_path)
    except AmbiguousPath as why:
        return _refuse(400, AMBIGUOUS, f"This address is ambiguous ({why}); the enclave refuses it. "
                       "Use the address without escapes, '..' or '\\'.", raw_path)
    route = path.text
    parts = _workspace_parts(path)
    user, server, rest = parts if parts else (None, None, ())
    if has_token_parameter(query):
        return _refuse(403, TOKEN_IN_URL, "A token in the address is refused: it would be kept in browser "
                       "history and logs. Send it in the Authorization header instead.", route, user, server)
    if parts is None:
        return Decision(route=route)
    lowered = tuple(s.lower() for s in rest)
    closed = (lowered[:1] and lowered[0] in CLOSED_ROUTES) or lowered[:2] == ("api", "nbconvert") \
        or server.lower() in CLOSED_ROUTES
    if closed:
        return _refuse(403, CLOSED_ROUTE, "This route is closed by the enclave's edge: it would send file "
                       "bytes to the browser. Results leave through the airlock (egress review).", route, user,
                       server)
    if has_download_parameter(query):
        return _refuse(403, DOWNLOAD, "Downloads are closed by the enclave's edge. Results leave through the "
                       "airlock (egress review).", route, user, server)
    if any(lowered[:len(prefix)] == prefix for prefix in STATIC_PREFIXES):
        return Decision(route=route, user=user, server=server)
    return Decision(route=route, user=user, server=server,
                    channel=_channel(method, rest, websocket, declared_apps),
                    # api/notebooks is the old name of api/contents (a redirect today): checked the same way.
                    check_contents=method == "GET" and lowered[:2] in (("api", "contents"), ("api", "notebooks"))
                    and not websocket)
