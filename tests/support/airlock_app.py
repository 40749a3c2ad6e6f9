"""The airlock's web app served on loopback behind a stand-in for the hub's REST API.

The airlock's identity path stays the real one (``HubOAuth`` +
``HubOAuthenticated``); only the hub at the other end of
``GET /hub/api/user`` is replaced, by ``FakeHub``, which answers for the
tokens a test registers. Never used by the running service.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

from jupyterhub.services.auth import HubOAuth
from tornado import httpserver, web
from tornado.ioloop import IOLoop

from egress_review.config import SERVICE_NAME
from egress_review.domain.permissions import Scope
from egress_review.web.app import make_app
from tests.support.ports import free_port

ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"
BASE_URL = f"/services/{SERVICE_NAME}/"


class _ServerThread:
    """A tornado application served on 127.0.0.1 from its own thread and loop."""

    def __init__(self, make_app: Callable[[], web.Application]):
        self.port = free_port()
        self._make_app = make_app
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test server did not start")

    def _run(self):
        asyncio.set_event_loop(asyncio.new_event_loop())
        self.loop = IOLoop.current()
        self.server = httpserver.HTTPServer(self._make_app())
        self.server.listen(self.port, address="127.0.0.1")
        self.loop.add_callback(self._ready.set)
        self.loop.start()

    def stop(self):
        def _stop():
            self.server.stop()
            self.loop.stop()

        self.loop.add_callback(_stop)
        self._thread.join(10)


class FakeHub:
    """Answers ``GET /hub/api/user`` like JupyterHub does for a token's owner."""

    def __init__(self):
        self.tokens: dict[str, dict] = {}
        hub = self

        class UserHandler(web.RequestHandler):
            def get(self):
                header = self.request.headers.get("Authorization", "")
                token = header.split(None, 1)[1] if " " in header else ""
                model = hub.tokens.get(token)
                if model is None:
                    self.set_status(403)
                    self.finish(json.dumps({"status": 403, "message": "bad token"}))
                    return
                self.finish(json.dumps(model))

        self._server = _ServerThread(lambda: web.Application([(r"/hub/api/user", UserHandler)]))
        self.api_url = f"http://127.0.0.1:{self._server.port}/hub/api"

    def add_user(self, name: str, *scopes: Scope | str, access: bool = True) -> str:
        """Register a user; returns a token that identifies them."""
        token = f"tok-{name}-{len(self.tokens)}"
        values = [s.value if isinstance(s, Scope) else s for s in scopes]
        if access:
            values.append(ACCESS_SCOPE)
        self.tokens[token] = {
            "kind": "user",
            "name": name,
            "admin": False,
            "groups": [],
            "scopes": values,
            "session_id": "",
        }
        return token

    def hub_auth(self) -> HubOAuth:
        return HubOAuth(
            api_url=self.api_url,
            api_token="service-token",
            oauth_client_id=f"service-{SERVICE_NAME}",
            base_url=BASE_URL,
            hub_prefix="/hub/",
            access_scopes={ACCESS_SCOPE},
            cache_max_age=0,
        )

    def stop(self):
        self._server.stop()


class ServedAirlock:
    """The real airlock web app on loopback, identified through a FakeHub."""

    def __init__(self, airlock, hub: FakeHub, cookie_secret: bytes = b"test-cookie-secret-0123456789abcdef"):
        self.hub = hub
        self.cookie_secret = cookie_secret
        self.hub_auth = hub.hub_auth()
        self._server = _ServerThread(
            lambda: make_app(
                airlock, hub_auth=self.hub_auth, base_url=BASE_URL, hub_prefix="/hub/", cookie_secret=cookie_secret
            )
        )
        self.origin = f"http://127.0.0.1:{self._server.port}"
        self.url = self.origin + BASE_URL

    def oauth_cookie(self, token: str) -> tuple[str, str]:
        """The (name, value) of the cookie HubOAuth sets after a browser login."""
        name = self.hub_auth.cookie_name
        return name, web.create_signed_value(self.cookie_secret, name, token).decode()

    def stop(self):
        self._server.stop()
