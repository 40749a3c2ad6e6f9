"""The tornado application: pages, API, the OAuth callback."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import jinja2
from jupyterhub.services.auth import HubAuth, HubOAuthCallbackHandler
from tornado import web

from ..services import Airlock
from .api import api_routes
from .pages import PageHandler, page_routes

access_log = logging.getLogger("egress_review.access")
TEMPLATES = Path(__file__).with_name("templates")
_TOKEN_IN_URI = re.compile(r"(token|code|state|_xsrf)=[^&]*", re.IGNORECASE)


def scrub_uri(uri: str) -> str:
    """Never log tokens, OAuth codes or XSRF values (as jupyterhub/log.py does)."""
    return _TOKEN_IN_URI.sub(lambda m: m.group(1) + "=[secret]", uri)


def log_request(handler: web.RequestHandler) -> None:
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    user = getattr(handler, "_hub_auth_user_cache", None) or {}
    access_log.log(
        level,
        "%d %s %s (%s@%s) %.2fms",
        status,
        handler.request.method,
        scrub_uri(handler.request.uri or ""),
        user.get("name", ""),
        handler.request.remote_ip,
        1000.0 * handler.request.request_time(),
    )


class CallbackHandler(HubOAuthCallbackHandler):
    def initialize(self) -> None:
        self.hub_auth = self.settings["hub_auth"]


class PageNotFound(PageHandler):
    required_scopes = ()

    def prepare(self):
        raise web.HTTPError(404)


def when(value) -> str:
    """A time as people read it, with its zone: the airlock keeps every time in UTC."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def make_app(
    airlock: Airlock,
    *,
    hub_auth: HubAuth,
    base_url: str,
    hub_prefix: str,
    cookie_secret: bytes,
    preview_rows: int = 5000,
) -> web.Application:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = when
    routes = [
        (base_url + "oauth_callback", CallbackHandler),
        *api_routes(base_url),
        *page_routes(base_url),
        (base_url + ".*", PageNotFound),
    ]
    return web.Application(
        routes,
        airlock=airlock,
        hub_auth=hub_auth,
        base_url=base_url,
        hub_prefix=hub_prefix,
        cookie_secret=cookie_secret,
        xsrf_cookies=True,
        jinja_env=env,
        preview_rows=preview_rows,
        log_function=log_request,
        login_url=hub_auth.login_url,
        default_handler_class=PageNotFound,
    )
