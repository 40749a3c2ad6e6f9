"""The hub names the logged-in person on every answer (enclave.hub.recipient), errors and redirects included.

Driven through a real tornado server on 127.0.0.1 with handlers that stand for the hub's (the hook is
installed on them as on jupyterhub's BaseHandler). The real hub behind the real edge is tested in
tests/integration/security/test_edge.py.
"""

from __future__ import annotations

import asyncio

import aiohttp
from jupyterhub import orm
from jupyterhub.handlers.base import BaseHandler
from jupyterhub.user import User
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from enclave.egress.channels import RECIPIENT_HEADER
from enclave.hub import recipient


def hub_user(name: str) -> User:
    user = User.__new__(User)  # a hub User without the hub's database behind it
    user.orm_user = orm.User(name=name)
    return user


class StandIn(web.RequestHandler):
    """Resolves its 'current user' in prepare, as jupyterhub's BaseHandler does."""

    def prepare(self):
        who = self.get_query_argument("as", "")
        self._jupyterhub_user = hub_user(who) if who else (object() if self.get_query_argument("service", "") else None)

    def get(self, kind):
        if kind == "error":
            self.set_header(RECIPIENT_HEADER, "someone-else")  # cleared by send_error, named again
            raise web.HTTPError(403)
        if kind == "redirect":
            return self.redirect("/elsewhere")
        if kind == "login":
            self._jupyterhub_user = hub_user("carol")  # logging in sets the user during the request
        self.set_header(RECIPIENT_HEADER, "forged")  # whatever a handler set, the hook decides
        self.write("page")


async def answers(paths: list[str]) -> list[tuple[int, str | None]]:
    recipient.install(StandIn)
    app = web.Application([(r"/(\w+)", StandIn)])
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(app)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as client:
            out = []
            for path in paths:
                async with client.get(f"http://127.0.0.1:{port}{path}", allow_redirects=False) as reply:
                    out.append((reply.status, reply.headers.get(RECIPIENT_HEADER)))
            return out
    finally:
        server.stop()


def test_every_answer_to_a_logged_in_person_names_them():
    got = asyncio.run(answers(["/page?as=alice", "/error?as=alice", "/redirect?as=alice", "/login"]))
    assert got == [(200, "alice"), (403, "alice"), (302, "alice"), (200, "carol")]


def test_answers_to_nobody_or_to_a_service_name_nobody():
    got = asyncio.run(answers(["/page", "/error", "/page?service=1"]))
    assert got == [(200, None), (403, None), (200, None)]


def test_install_wraps_the_hubs_base_handler_once():
    recipient.install()
    wrapped = BaseHandler.flush
    recipient.install()
    assert BaseHandler.flush is wrapped and getattr(BaseHandler, "_enclave_names_recipient")
