"""The hub names, on every answer, the person it is sending it to: the edge counts the answer against them.

The hub's pages and API show back what people wrote (token notes, server
names, spawn options), so the edge meters them on channel "hub" against the
person who receives them (enclave.edge.policy). Only the hub knows who that
is: `BaseHandler.prepare` resolves the logged-in user (cookie or token), and
logging in sets it during the request. `install()` wraps `BaseHandler.flush`,
through which every handler's head goes out (`finish`, redirects and error
pages included, after `send_error` has cleared the headers), to set
`X-Enclave-Recipient: <user name>` just before the head is written. Answers to
no one logged in (the login page, a service's token) carry no name; the edge
passes those only when small. The edge removes the header before the browser
sees it. The hub's static files (not a BaseHandler) are not metered.
"""

from __future__ import annotations

from jupyterhub.handlers.base import BaseHandler
from jupyterhub.user import User

from ..egress.channels import RECIPIENT_HEADER

_INSTALLED = "_enclave_names_recipient"


def recipient_of(handler) -> str | None:
    """The person the handler's answer goes to: its logged-in user, None for anyone else."""
    user = getattr(handler, "_jupyterhub_user", None)  # set by prepare() and by logging in
    return user.name if isinstance(user, User) else None


def name_recipient(handler) -> None:
    """Set (or clear) the recipient header on the handler's answer, before its head is written."""
    name = recipient_of(handler)
    if name is None:
        handler.clear_header(RECIPIENT_HEADER)
    else:
        handler.set_header(RECIPIENT_HEADER, name)


def install(handler_class=BaseHandler) -> None:
    """Make every hub handler name its recipient (idempotent)."""
    if getattr(handler_class, _INSTALLED, False):
        return
    original = handler_class.flush

    def flush(self, *args, **kwargs):
        if not self._headers_written:
            name_recipient(self)
        return original(self, *args, **kwargs)

    handler_class.flush = flush
    setattr(handler_class, _INSTALLED, True)
