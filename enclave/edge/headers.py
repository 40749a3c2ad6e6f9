"""Headers the edge strips, sets and adds, on requests going in and responses going out."""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from ..egress.channels import PROJECT_HEADER, RECIPIENT_HEADER, RELEASED_HEADER

# JupyterLab 4 evaluates code (its settings validator compiles JSON schemas with
# `new Function`) and injects styles, and the hub's pages carry inline scripts:
# 'unsafe-inline' and 'unsafe-eval' for scripts and styles keep them working.
# What matters for data leaving is that nothing is fetched from, sent to, framed
# by or submitted to another origin: connect-src, img-src, form-action,
# frame-ancestors and default-src are all 'self'.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "media-src 'self' data: blob:",
        "object-src 'none'",
        "frame-src 'self'",
        "frame-ancestors 'self'",
        "form-action 'self'",
        "base-uri 'self'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# Hop-by-hop headers (RFC 9110 7.6.1) are the connection's own, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# The edge says who the client is; a client cannot say it for itself.
FORWARDED = frozenset(
    {
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-proto",
        "x-real-ip",
        "x-scheme",
    }
)
# The websocket handshake's own headers, made again by the edge's client connection upstream.
WEBSOCKET_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
    }
)

EDGE_MARKER = "X-Enclave-Edge"
# The enclave's own headers (the edge's marker, the recipient headers of enclave.egress.channels): set
# only by the edge and by trusted host services, never passed on from a browser, and removed from every
# response before it reaches one (a workspace must never choose whom it is counted against).
ENCLAVE_PREFIX = "x-enclave-"


def upstream_request_headers(
    incoming: CIMultiDictProxy, client_ip: str, host: str, port: int, websocket: bool = False
) -> CIMultiDict:
    """The browser's headers as forwarded to the hub's proxy, with the edge's own X-Forwarded-*."""
    connection_named = {
        token.strip().lower() for value in incoming.getall("Connection", []) for token in value.split(",")
    }
    out = CIMultiDict()
    for name, value in incoming.items():
        lowered = name.lower()
        if lowered in HOP_BY_HOP or lowered in FORWARDED or lowered in connection_named:
            continue
        if websocket and lowered in WEBSOCKET_HANDSHAKE:
            continue
        if lowered.startswith(ENCLAVE_PREFIX):
            continue
        out.add(name, value)
    out["X-Forwarded-For"] = client_ip
    out["X-Forwarded-Proto"] = "https"
    out["X-Forwarded-Host"] = host
    out["X-Forwarded-Port"] = str(port)
    return out


def secure_cookie(value: str) -> str:
    """A Set-Cookie value with the Secure attribute (HttpOnly and SameSite are left as set)."""
    attributes = [part.strip().lower() for part in value.split(";")[1:]]
    return value if "secure" in attributes else f"{value}; Secure"


def downstream_response_headers(upstream: CIMultiDictProxy) -> CIMultiDict:
    """The upstream response's headers for the browser: hop-by-hop and X-Enclave-* dropped, cookies secured,
    ours added."""
    out = CIMultiDict()
    for name, value in upstream.items():
        lowered = name.lower()
        if lowered in HOP_BY_HOP or lowered.startswith(ENCLAVE_PREFIX):
            continue
        if lowered in (h.lower() for h in SECURITY_HEADERS):
            continue  # ours replace whatever a server behind says
        out.add(name, secure_cookie(value) if lowered == "set-cookie" else value)
    add_security_headers(out)
    return out


def named_recipient(upstream: CIMultiDictProxy) -> tuple[str | None, str | None]:
    """(recipient, project) a trusted service named in its response headers; None for what it did not name.

    A header sent more than once with different values names nobody (fail closed: the response is then
    treated as unnamed).
    """
    return _single(upstream.getall(RECIPIENT_HEADER, [])), _single(upstream.getall(PROJECT_HEADER, []))


def released_file(upstream: CIMultiDictProxy) -> str | None:
    """The SHA-256 the airlock names when the answer is a released file's download, else None."""
    return _single(upstream.getall(RELEASED_HEADER, []))


def _single(values: list[str]) -> str | None:
    distinct = {v.strip() for v in values}
    return distinct.pop() if len(distinct) == 1 and "" not in distinct else None


def serialised_head(status: int, reason: str | None, headers) -> bytes:
    """The status line and headers as sent on the wire: what the meter counts of a response's head."""
    lines = [f"HTTP/1.1 {status} {reason or ''}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


def add_security_headers(headers) -> None:
    """Called on every response the edge sends, its own refusals and redirects included."""
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    cookies = headers.getall("Set-Cookie", [])
    if cookies:
        del headers["Set-Cookie"]
        for cookie in cookies:
            headers.add("Set-Cookie", secure_cookie(cookie))
