"""Base handlers: identity through the hub (HubOAuth), scopes checked by the
service itself (fail closed), errors rendered as JSON or as a page."""

from __future__ import annotations

import json
import logging
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web
from tornado.ioloop import IOLoop

from ..domain.exceptions import EgressError, InvalidInput, NotAuthenticated
from ..domain.permissions import Principal, Scope
from ..services import Airlock, views
from .errors import http_error_body, status_for
from .recipient import PROJECT_HEADER, RECIPIENT_HEADER, recipient_headers

log = logging.getLogger("egress_review.web")


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    """Every handler: the hub identifies the user; the service checks scopes.

    ``required_scopes``: the caller needs at least one of them (empty tuple
    means any signed-in user). A user with none is refused with 403.
    """

    required_scopes: tuple[Scope, ...] = (Scope.REQUEST, Scope.REVIEW, Scope.OPERATE)
    #: The route's first argument is a request id: responses name that request's project.
    request_scoped = False

    def initialize(self) -> None:
        self.hub_auth = self.settings["hub_auth"]

    @property
    def airlock(self) -> Airlock:
        return self.settings["airlock"]

    @property
    def principal(self) -> Principal:
        user = self.current_user
        if not user:
            raise NotAuthenticated("Sign in through the hub first.")
        return Principal(name=user["name"], scopes=frozenset(user.get("scopes") or ()))

    def require_principal(self) -> Principal:
        principal = self.principal
        if self.required_scopes and not any(principal.has(s) for s in self.required_scopes):
            from ..domain.exceptions import MissingScope
            from ..domain.permissions import role_names

            raise MissingScope(
                f"This page is for the {role_names(self.required_scopes)} role, which your account does not have. "
                "Ask an operator for the role you need, then sign out and in again."
            )
        return principal

    async def run(self, fn, *args, **kwargs):
        """Run a (blocking) service call off the event loop."""
        return await IOLoop.current().run_in_executor(None, lambda: fn(*args, **kwargs))

    def check_xsrf_cookie(self):
        # Tornado checks XSRF before prepare(). A request carrying a hub token
        # in its Authorization header is identified first, so HubOAuth knows it
        # is token-authenticated (no XSRF needed, like any API client).
        # Cookie-authenticated requests (browsers) must carry the form's _xsrf;
        # HubOAuth also refuses cookie auth without it.
        if self.hub_auth.get_token(self, in_cookie=False):
            _ = self.current_user
        return super().check_xsrf_cookie()

    def flush(self, include_footers: bool = False):
        # Every response passes here before its headers go out (finish, errors and redirects too):
        # the one place that names whom it is counted against.
        if not self._headers_written:
            self.name_the_recipient()
        return super().flush(include_footers)

    def name_the_recipient(self) -> None:
        self.clear_header(RECIPIENT_HEADER)
        self.clear_header(PROJECT_HEADER)
        person = self._signed_in_name()
        project = self._project_of_request(person) if person else None
        for name, value in recipient_headers(person, project).items():
            self.set_header(name, value)

    def _signed_in_name(self) -> str | None:
        try:
            user = self.current_user
        except Exception:  # the hub could not say who it is: then nobody is named (the edge fails closed)
            return None
        return user.get("name") if isinstance(user, dict) else None

    def _project_of_request(self, person: str) -> str | None:
        if not (self.request_scoped and getattr(self, "path_args", None)):
            return None
        try:
            principal = self.principal
            return views.project_of(self.airlock.ctx, principal, self.path_args[0])
        except Exception:  # unknown or invisible request: counted under the airlock's pseudo-project
            return None

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("Cache-Control", "no-store")

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, EgressError):
            log.info("%s %s refused: %s", self.request.method, self.request.path, value.code)
            return
        super().log_exception(typ, value, tb)

    def error_status(self, status_code: int, exc_info) -> tuple[int, str, str]:
        exc = exc_info[1] if exc_info else None
        if isinstance(exc, EgressError):
            return status_for(exc), exc.code, exc.message
        message = getattr(exc, "log_message", None) if isinstance(exc, web.HTTPError) else None
        if isinstance(exc, web.HTTPError) and status_code == 403 and message and "_xsrf" in message:
            message = "The form expired or came from elsewhere (XSRF check). Reload the page and try again."
        elif status_code >= 500:
            message = None  # never echo internals
        body = http_error_body(status_code, message)
        return status_code, body["error"], body["message"]


class ApiHandler(BaseHandler):
    """JSON in, JSON out; errors are ``{"error": code, "message": what to do}``."""

    def get_login_url(self):
        raise web.HTTPError(401)

    def prepare(self):
        if not self.current_user:
            raise NotAuthenticated(
                "Sign in through the hub, or send a hub API token in the 'Authorization: token ...' header."
            )

    def json_body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("The request body is not valid JSON. Send a JSON object.") from None
        if not isinstance(body, dict):
            raise InvalidInput("The request body must be a JSON object.")
        return body

    def write_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(value))

    def write_error(self, status_code: int, **kwargs) -> None:
        status, code, message = self.error_status(status_code, kwargs.get("exc_info"))
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": code, "message": message}))


def str_field(body: dict, name: str, *, required: bool = False, default: str = "") -> str:
    value = body.get(name, None)
    if value is None:
        if required:
            raise InvalidInput(f"'{name}' is required.")
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string.")
    return value


def int_arg(value: str, what: str = "file id") -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"The {what} must be a whole number.") from None
    if not (0 < number < 2**31):
        raise InvalidInput(f"The {what} is out of range.")
    return number
