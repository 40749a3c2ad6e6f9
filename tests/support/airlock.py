"""The tests' one HTTP client for the airlock, as one person: its API with a hub token, or its pages and forms
with the HubOAuth login cookie (and their XSRF token), as a browser has them after signing in.

Paths are relative to the airlock's root: "api/requests", "requests/3". Through the real hub the airlock is at
/services/egress-review/ (`through_hub`); the airlock served on its own behind a stand-in hub
(tests/support/airlock_app.py) is at `served.url` (`served`).
"""

from __future__ import annotations

import re

import requests

PREFIX = "/services/egress-review/"
AGGREGATE = "sex,n\nFemale,1043\nMale,957\n"  # a table of counts every check passes


class AirlockClient:
    """One person's HTTP door to the airlock: a token (the API) or the login cookie (pages and forms)."""

    def __init__(self, base: str, token: str | None, *, cookie: tuple[str, str] | None = None, timeout: float = 120):
        self.base = base if base.endswith("/") else base + "/"
        self.timeout = timeout
        # With the cookie, requests go out as the browser's would: a session keeping what the airlock sets.
        self.session = requests.Session() if cookie else None
        if cookie:
            self.session.cookies.set(*cookie)
        self.headers = {"Authorization": f"token {token}"} if token and not cookie else {}  # no token: anonymous

    @classmethod
    def through_hub(cls, enclave, name: str, timeout: float = 120) -> AirlockClient:
        """Signed in to the real hub (tests/support/enclave.py), with the person's hub token."""
        return cls(f"{enclave.url}{PREFIX}", enclave.login(name).token(), timeout=timeout)

    @classmethod
    def served(cls, served, token: str, *, pages: bool = False, timeout: float = 30) -> AirlockClient:
        """The airlock served behind a stand-in hub; `pages` for the login cookie instead of the token."""
        return cls(served.url, token, cookie=served.oauth_cookie(token) if pages else None, timeout=timeout)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
        return (self.session or requests).request(method, self.base + path.lstrip("/"), **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def ok(self, method: str, path: str, **kwargs) -> dict:
        """A call that must succeed (200 or 201); its JSON."""
        reply = self.request(method, path, **kwargs)
        assert reply.status_code in (200, 201), reply.text
        return reply.json()

    def page(self, path: str) -> tuple[requests.Response, str | None]:
        """A page, navigated to as a browser does; with the XSRF token of its form, if it has one."""
        reply = self.get(path, headers={"Sec-Fetch-Mode": "navigate"})
        token = re.search(r'name="_xsrf" value="([^"]+)"', reply.text)
        return reply, token.group(1) if token else None

    def form(self, path: str, data: dict, xsrf: str) -> requests.Response:
        """A form posted with the page's XSRF token; the redirect it answers is returned, not followed."""
        return self.request("POST", path, data={**data, "_xsrf": xsrf}, allow_redirects=False)


def request_for(airlock: AirlockClient, project: str, files: list[str]) -> str:
    """A draft request with one group holding `files` from the outbox; its id."""
    rid = airlock.ok("POST", "api/requests", json={"project": project, "title": "results"})["id"]
    airlock.ok(
        "POST",
        f"api/requests/{rid}/groups",
        json={"name": "tables", "context": "counts by sex", "controls": "all cells >= 10"},
    )
    for path in files:
        airlock.ok("POST", f"api/requests/{rid}/files", json={"path": path, "group": "tables"})
    return rid
