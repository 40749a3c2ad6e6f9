"""Which hub API calls a workspace may make: a table of method and canonical path, nothing else.

A workspace's Jupyter server (jupyterhub-singleuser) needs exactly these of
the hub (jupyterhub/singleuser/extension.py and services/auth.py):

- GET  /hub/api                      the version check at start-up
- GET  /hub/api/user                 who a browser's token belongs to (HubAuth)
- POST /hub/api/oauth2/token         the OAuth code exchange at login
- POST /hub/api/users/<own>/activity the activity report, for the server's own user only

Anything else a workspace could send (token notes, server names, spawn
options, groups, shutdown...) could store analyst-controlled bytes in a hub
record that the browser reads back, or act on the hub; so it is refused,
whatever token comes with it. Query strings are refused too (none of these
calls has one), as are bodies on GET and bodies over BODY_LIMIT.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from ..edge.paths import AmbiguousPath, canonical

BODY_LIMIT = 8 * 1024  # an activity report or a token exchange is a few hundred bytes
ROUTE_SHOWN = 200  # characters of a refused path kept in messages and the audit log

HUB_API = ("hub", "api")
ALLOWED = {
    ("GET", HUB_API),
    ("GET", (*HUB_API, "user")),
    ("POST", (*HUB_API, "oauth2", "token")),
}
ACTIVITY = "activity"


@dataclass(frozen=True)
class GateDecision:
    allowed: bool
    route: str  # the canonical path (the raw one, shortened, when it could not be made canonical)
    forward_path: str = ""  # what is sent to the hub: the canonical path, escaped again
    reason: str = ""  # machine-readable, for the audit log
    message: str = ""  # for whoever sent the request


def _refused(route: str, reason: str, message: str) -> GateDecision:
    return GateDecision(False, route[:ROUTE_SHOWN], reason=reason, message=message)


def is_activity(method: str, segments: tuple[str, ...]) -> bool:
    """POST /hub/api/users/<name>/activity, for any name: the one call whose answer depends on the sender."""
    return method == "POST" and len(segments) == 5 and segments[:3] == (*HUB_API, "users") and segments[4] == ACTIVITY


def _is_own_activity(method: str, segments: tuple[str, ...], owner: str | None) -> bool:
    return is_activity(method, segments) and owner is not None and segments[3] == owner


def decide(method: str, raw_path: str, query: str, owner: str | None, body_length: int | None = 0) -> GateDecision:
    """Judge one request from a workspace.

    `owner` is the hub user whose workspace sent it (None when the source is
    not a known workspace). `body_length` is the declared length of the
    body, 0 for none, None for a body of unknown length (chunked: the caller
    enforces BODY_LIMIT while reading it).
    """
    try:
        path = canonical(raw_path)
    except AmbiguousPath as ambiguous:
        return _refused(raw_path, "ambiguous-path", f"the path is ambiguous ({ambiguous}).")
    route = path.text
    if query:
        return _refused(route, "query-not-allowed", "hub API calls from a workspace carry no query string.")
    segments = path.segments
    if (method, segments) not in ALLOWED and not _is_own_activity(method, segments, owner):
        if is_activity(method, segments):
            return _refused(route, "activity-not-own", "a workspace reports activity for its own user only.")
        return _refused(
            route,
            "route-not-allowed",
            "a workspace may call only the hub API its Jupyter server needs "
            "(version, user identity, OAuth token exchange, its own activity).",
        )
    if method == "GET" and body_length != 0:
        return _refused(route, "body-not-allowed", "a GET to the hub carries no body.")
    if body_length is not None and body_length > BODY_LIMIT:
        return _refused(route, "body-too-large", f"the request body is over {BODY_LIMIT} bytes.")
    forward = "/" + "/".join(quote(segment, safe="@~") for segment in segments)
    return GateDecision(True, route, forward_path=forward)
