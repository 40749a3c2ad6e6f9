"""Server-rendered pages for analysts and reviewers (same services as the API)."""

from __future__ import annotations

from urllib.parse import quote

from tornado import web

from ..domain.exceptions import EgressError, InvalidInput
from ..domain.permissions import Scope
from ..domain.states import RequestState, VoteDecision
from ..domain.transitions import mermaid_diagram
from ..services import views
from .api import send_download
from .base import BaseHandler, int_arg
from .pdf_pages import render_page
from .previews import image_type, preview


class PageHandler(BaseHandler):
    def render_page(self, template: str, status: int = 200, **context) -> None:
        principal = self.principal if self.current_user else None
        env = self.settings["jinja_env"]
        html = env.get_template(template).render(
            base_url=self.settings["base_url"],
            hub_prefix=self.settings["hub_prefix"],
            principal=principal,
            roles=principal.roles if principal else [],
            xsrf_token=self.xsrf_token.decode() if isinstance(self.xsrf_token, bytes) else self.xsrf_token,
            states=RequestState,
            limits=self.airlock.ctx.inputs,
            **context,
        )
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
        )
        self.finish(html)

    def write_error(self, status_code: int, **kwargs) -> None:
        status, code, message = self.error_status(status_code, kwargs.get("exc_info"))
        try:
            self.render_page("error.html", status=status, code=code, message=message)
        except Exception:
            self.set_status(status)
            self.finish(f"{status}: {message}")

    def url(self, path: str) -> str:
        return self.settings["base_url"] + path


class HomePage(PageHandler):
    @web.authenticated
    def get(self):
        p = self.require_principal()
        self.redirect(self.url("requests" if p.has(Scope.REQUEST) else "review"))


class RequestsPage(PageHandler):
    @web.authenticated
    async def get(self):
        p = self.require_principal()
        mine = await self.run(views.list_requests, self.airlock.ctx, p, "mine") if p.has(Scope.REQUEST) else []
        self.render_page("requests.html", requests=mine)

    @web.authenticated
    async def post(self):
        p = self.require_principal()
        request_id = await self.run(
            self.airlock.requests.create, p, self.get_body_argument("project", ""), self.get_body_argument("title", "")
        )
        self.redirect(self.url(f"requests/{quote(request_id)}"))


class QueuePage(PageHandler):
    required_scopes = (Scope.REVIEW, Scope.OPERATE)

    @web.authenticated
    async def get(self):
        p = self.require_principal()
        queue = await self.run(views.list_requests, self.airlock.ctx, p, "queue") if p.has(Scope.REVIEW) else []
        everything = await self.run(views.list_requests, self.airlock.ctx, p, "all")
        self.render_page("queue.html", queue=queue, everything=everything)


class RequestPage(PageHandler):
    request_scoped = True

    @web.authenticated
    async def get(self, request_id):
        p = self.require_principal()
        reason = self.get_argument("reason", "")
        detail = await self.run(views.request_detail, self.airlock.ctx, p, request_id, reason)
        previews = await self.run(self._previews, detail) if detail["content"]["shown"] else {}
        self.render_page(
            "request.html",
            r=detail,
            previews=previews,
            reason=reason if detail["content"]["shown"] else "",
            decisions=VoteDecision,
            decision_labels=DECISION_LABELS,
            done=DONE.get(self.get_argument("done", ""), ""),
        )

    def _previews(self, detail: dict) -> dict:
        """Previews of the staged files, for people who get content (request_detail decided)."""
        out = {}
        rows = self.settings["preview_rows"]
        for sf in detail["staged_files"]:
            try:
                content = self.airlock.ctx.staging.read_verified(sf["sha256"])
            except EgressError as exc:
                out[sf["id"]] = {"kind": "none", "note": exc.message}
                continue
            out[sf["id"]] = preview(sf["id"], sf["path"], content, sf["checks"], rows)
        return out


_ACTIONS = {
    "group": lambda h, p, rid: h.airlock.requests.save_group(
        p, rid, h.get_body_argument("name", ""), h.get_body_argument("context", ""), h.get_body_argument("controls", "")
    ),
    "add-file": lambda h, p, rid: h.airlock.requests.add_file(
        p, rid, h.get_body_argument("path", ""), h.get_body_argument("group", ""), h.get_body_argument("comment", "")
    ),
    "remove-file": lambda h, p, rid: h.airlock.requests.remove_file(p, rid, int_arg(h.get_body_argument("file_id", ""))),
    "submit": lambda h, p, rid: h.airlock.requests.submit(p, rid),
    "withdraw": lambda h, p, rid: h.airlock.requests.withdraw(p, rid),
    "vote": lambda h, p, rid: h.airlock.reviews.vote(
        p, rid, h.get_body_argument("decision", ""), h.get_body_argument("reason", "")
    ),
    "decide": lambda h, p, rid: h.airlock.reviews.decide(
        p,
        rid,
        int_arg(h.get_body_argument("file_id", "")),
        h.get_body_argument("decision", ""),
        h.get_body_argument("reason", ""),
    ),
    "comment": lambda h, p, rid: h.airlock.reviews.comment(
        p,
        rid,
        h.get_body_argument("body", ""),
        int_arg(h.get_body_argument("file_id")) if h.get_body_argument("file_id", "") else None,
    ),
    "override": lambda h, p, rid: h.airlock.reviews.override_block(
        p, rid, int_arg(h.get_body_argument("file_id", "")), h.get_body_argument("reason", "")
    ),
    "revoke": lambda h, p, rid: h.airlock.releases.revoke(p, rid, h.get_body_argument("reason", "")),
    "release": lambda h, p, rid: h.airlock.releases.release(p, rid),
}


#: How a decision reads on the page.
DECISION_LABELS = {"approve": "approved", "request_changes": "changes asked for", "reject": "rejected"}

#: What the page says after each of its forms did its work.
DONE = {
    "group": "The group is saved.",
    "add-file": "The file is added. Add more, or submit the request for review.",
    "remove-file": "The file is removed from the request (it stays in your outbox).",
    "submit": "Submitted: every file was copied and checked; reviewers can now see it.",
    "withdraw": "The request is withdrawn. Start a new one when you have new results.",
    "decide": "Your decision on the file is recorded.",
    "vote": "Your decisions are recorded.",
    "comment": "Your comment is added.",
    "override": "The block is overridden; the reason is in the audit log.",
    "revoke": "The release is revoked: its files can no longer be downloaded.",
    "release": "The release was retried.",
}


class RequestActionPage(PageHandler):
    """One POST endpoint per form on the request page; redirects back after it."""

    request_scoped = True

    @web.authenticated
    async def post(self, request_id, action):
        p = self.require_principal()
        handler = _ACTIONS.get(action)
        if handler is None:
            raise InvalidInput("Unknown action.")
        await self.run(handler, self, p, request_id)
        anchor = f"#file-{quote(self.get_body_argument('file_id', ''))}" if action == "decide" else ""
        self.redirect(self.url(f"requests/{quote(request_id)}?done={quote(action)}{anchor}"))


class ImagePage(PageHandler):
    """Inline image previews, for people who get content (domain/disclosure.py; images only)."""

    request_scoped = True

    @web.authenticated
    async def get(self, request_id, file_id):
        p = self.require_principal()
        reason = self.get_argument("reason", "")
        meta, sha = await self.run(views.staged_file, self.airlock.ctx, p, request_id, int_arg(file_id), reason)
        content = await self.run(self.airlock.ctx.staging.read_verified, sha)
        mime = image_type(content, meta["path"])
        if mime is None:
            raise InvalidInput("That file is not an image.")
        send_image(self, mime, content)


class PdfPagePage(PageHandler):
    """One page of a staged PDF drawn as PNG on the server (web/pdf_pages.py), for people who get content."""

    request_scoped = True

    @web.authenticated
    async def get(self, request_id, file_id, page):
        p = self.require_principal()
        reason = self.get_argument("reason", "")
        _, sha = await self.run(views.staged_file, self.airlock.ctx, p, request_id, int_arg(file_id), reason)
        content = await self.run(self.airlock.ctx.staging.read_verified, sha)
        png = await self.run(render_page, content, int_arg(page))
        if png is None:
            raise InvalidInput("That page of the PDF cannot be shown: the file is not a readable PDF, or has fewer pages.")
        send_image(self, "image/png", png)


def send_image(handler: PageHandler, mime: str, content: bytes) -> None:
    handler.set_header("Content-Type", mime)
    handler.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.finish(content)


class DownloadPage(PageHandler):
    request_scoped = True

    @web.authenticated
    async def get(self, request_id, file_id):
        p = self.require_principal()
        download = await self.run(self.airlock.releases.download, p, request_id, int_arg(file_id))
        send_download(self, download)


class DiagramPage(PageHandler):
    required_scopes = ()

    @web.authenticated
    def get(self):
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(mermaid_diagram())


def page_routes(prefix: str) -> list[tuple[str, type]]:
    rid = r"([^/]+)"
    return [
        (prefix, HomePage),
        (prefix + "requests", RequestsPage),
        (prefix + "review", QueuePage),
        (prefix + "states.mmd", DiagramPage),
        (prefix + rf"requests/{rid}", RequestPage),
        (prefix + rf"requests/{rid}/files/{rid}/image", ImagePage),
        (prefix + rf"requests/{rid}/files/{rid}/pages/(\d+)", PdfPagePage),
        (prefix + rf"requests/{rid}/files/{rid}/download", DownloadPage),
        (prefix + rf"requests/{rid}/([a-z-]+)", RequestActionPage),
    ]
