"""The package index a project's workspaces install from: pypiserver over the operator's folders.

The folders (the installation's allowlist and the project's) are mounted read-only; only GET and
HEAD are answered. A project page pypiserver does not have gets a refusal pip prints: pip shows
the Content-Type of a page it cannot use in its warning ("Skipping page ... because the GET request
got Content-Type: ..."), and pypiserver's 404 body never reaches the analyst.
"""

from __future__ import annotations

import os
import re

import pypiserver

PORT = 8080
NAME = re.compile(r"^/simple/([a-z0-9][a-z0-9._-]*)/?$", re.IGNORECASE)


def normalise(name: str) -> str:
    """PEP 503's normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def refusal(name: str, project: str) -> str:
    """One line (it goes in a header): what was refused and how to ask for it."""
    return (
        f"{name} is not allowed in project {project}. To ask for it, ask an operator to run: "
        f"enclave packages add {name} --project {project}"
    )


def with_refusals(app, project: str):
    """WSGI middleware: only GET and HEAD; an unknown project page becomes a refusal pip prints."""

    def middleware(environ, start_response):
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")])
            return [b"This index is read-only.\n"]
        match = NAME.match(environ.get("PATH_INFO", ""))
        if match is None:
            return app(environ, start_response)
        seen = {}

        def capture(status, headers, exc_info=None):
            seen["status"] = status
            if not status.startswith("404"):
                return start_response(status, headers, exc_info)
            return lambda data: None

        body = app(environ, capture)
        if not seen.get("status", "").startswith("404"):
            return body
        if hasattr(body, "close"):
            body.close()
        message = refusal(normalise(match.group(1)), project)
        # 200 with a type pip does not accept: pip skips the page and prints the type, i.e. the message.
        start_response("200 OK", [("Content-Type", f'text/x-enclave-refusal; message="{message}"')])
        return [message.encode() + b"\n"]

    return middleware


def make_app(roots: list[str], project: str):
    app = pypiserver.app(roots=roots, disable_fallback=True, authenticate=["update"])
    return with_refusals(app, project)


def roots_from_environment() -> list[str]:
    return os.environ.get("ENCLAVE_INDEX_ROOTS", "/packages/all:/packages/project").split(":")
