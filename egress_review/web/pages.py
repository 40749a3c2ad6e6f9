"""Server-rendered pages for analysts and reviewers (same services as the API)."""

from __future__ import annotations

from urllib.parse import quote

from tornado import web

from ..domain.exceptions import EgressError, InvalidInput
from ..domain.permissions import Scope
from ..domain.states import RequestState, VoteDecision
from ..domain.transitions import mermaid_diagram
from ..services import outbox, views
from .api import send_download
from .base import BaseHandler, int_arg
from .errors import status_for
from .pdf_pages import render_page
from .previews import Preview, image_type, preview


class PageHandler(BaseHandler):
    def render_page(self, template: str, status: int = 200, **context) -> None:
        self.send_page(self.page_template(template).render(**self.page_context(context)), status)

    async def render_page_async(self, template: str, status: int = 200, **context) -> None:
        """The same, rendered off the event loop: a request page with whole tables is a lot of HTML."""
        html = await self.run(self.page_template(template).render, **self.page_context(context))
        self.send_page(html, status)

    def page_template(self, template: str):
        return self.settings["jinja_env"].get_template(template)

    def page_context(self, context: dict) -> dict:
        """What every page gets (computed on the event loop: the XSRF token may set a cookie)."""
        principal = self.principal if self.current_user else None
        return {
            "base_url": self.settings["base_url"],
            "hub_prefix": self.settings["hub_prefix"],
            "principal": principal,
            "roles": principal.roles if principal else [],
            "xsrf_token": self.xsrf_token.decode() if isinstance(self.xsrf_token, bytes) else self.xsrf_token,
            "states": RequestState,
            "limits": self.airlock.ctx.inputs,
            **context,
        }

    def send_page(self, html: str, status: int) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "frame-ancestors 'none'",
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
    """The analyst's start: their requests, and a form listing their projects and outbox files."""

    @web.authenticated
    async def get(self):
        await self.show(self.get_argument("project", ""))

    async def show(self, project: str, form: dict | None = None, error: str = "", status: int = 200) -> None:
        p = self.require_principal()
        ctx = self.airlock.ctx
        mine = await self.run(views.list_requests, ctx, p, "mine") if p.has(Scope.REQUEST) else []
        projects = await self.run(outbox.projects_of, ctx, p)
        if not project and len(projects) == 1:
            project = projects[0]
        listing = await self.run(outbox.list_outbox, ctx, p, project) if project in projects else None
        self.render_page(
            "requests.html",
            status=status,
            requests=mine,
            projects=projects,
            project=project,
            listing=listing,
            form=form or {},
            error=error,
        )

    @web.authenticated
    async def post(self):
        p = self.require_principal()
        form = {name: self.get_body_argument(name, "") for name in ("project", "title", "group", "context", "controls")}
        paths = self.get_body_arguments("path")
        try:
            request_id = await self.run(
                self.airlock.requests.create_with_files,
                p,
                form["project"],
                form["title"],
                paths,
                form["group"],
                form["context"],
                form["controls"],
            )
        except EgressError as exc:  # shown on the form, with what was typed and ticked kept
            await self.show(form["project"], {**form, "paths": paths}, exc.message, status_for(exc))
            return
        self.redirect(self.url(f"requests/{quote(request_id)}?done=create"))


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
        await self.show(request_id)

    async def show(
        self, request_id: str, error: dict | None = None, form: dict | None = None, status: int = 200
    ) -> None:
        """The request page; after a refused form, with the refusal next to that form and what was typed kept."""
        p = self.require_principal()
        ctx = self.airlock.ctx
        reason = self.get_argument("reason", "")
        detail = await self.run(views.request_detail, ctx, p, request_id, reason)
        previews = await self.run(self._previews, detail) if detail["content"]["shown"] else {}
        listing = None
        if "edit" in detail["allowed_actions"]:
            listing = await self.run(outbox.list_outbox, ctx, p, detail["project"])
        await self.render_page_async(
            "request.html",
            status=status,
            r=detail,
            previews=previews,
            listing=listing,
            reason=reason if detail["content"]["shown"] else "",
            decisions=VoteDecision,
            decision_labels=DECISION_LABELS,
            done="" if error else DONE.get(self.get_argument("done", ""), ""),
            confirm=self.get_argument("confirm", ""),
            error=error or {},
            form=form or {},
        )

    def _previews(self, detail: dict) -> dict:
        """Previews of the staged files, for people who get content (request_detail decided)."""
        out = {}
        rows = self.settings["preview_rows"]
        for sf in detail["staged_files"]:
            try:
                content = self.airlock.ctx.staging.read_verified(sf["sha256"])
            except EgressError as exc:
                out[sf["id"]] = Preview(kind="none", note=exc.message)
                continue
            out[sf["id"]] = preview(sf["id"], sf["path"], content, sf["checks"], rows)
        return out


_ACTIONS = {
    "group": lambda h, p, rid: h.airlock.requests.save_group(
        p, rid, h.get_body_argument("name", ""), h.get_body_argument("context", ""), h.get_body_argument("controls", "")
    ),
    "add-file": lambda h, p, rid: [
        h.airlock.requests.add_file(p, rid, path, h.get_body_argument("group", ""), h.get_body_argument("comment", ""))
        for path in h.get_body_arguments("path") or [""]
    ],
    "remove-file": lambda h, p, rid: h.airlock.requests.remove_file(
        p, rid, int_arg(h.get_body_argument("file_id", ""))
    ),
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


#: Actions that cannot be undone: the page asks first (the API does not).
CONFIRM = {"withdraw"}

#: How a decision reads on the page.
DECISION_LABELS = {"approve": "approved", "request_changes": "changes asked for", "reject": "rejected"}

#: What the page says after each of its forms did its work.
DONE = {
    "create": "The request is created as a draft. Check its files and groups, then submit it for review.",
    "group": "The group is saved.",
    "add-file": "Added. Add more, or submit the request for review.",
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


class RequestActionPage(RequestPage):
    """One POST endpoint per form on the request page; back to the page after it (a refusal is shown
    on the page, next to the form, with what was typed kept)."""

    def get(self, request_id, action):
        raise web.HTTPError(405)

    @web.authenticated
    async def post(self, request_id, action):
        p = self.require_principal()
        handler = _ACTIONS.get(action)
        if handler is None:
            raise InvalidInput("Unknown action.")
        if action in CONFIRM and self.get_body_argument("confirm", "") != "yes":
            self.redirect(self.url(f"requests/{quote(request_id)}?confirm={quote(action)}#confirm"))
            return
        try:
            await self.run(handler, self, p, request_id)
        except EgressError as exc:
            form = {name: values[-1].decode("utf-8", "replace") for name, values in self.request.body_arguments.items()}
            form["paths"] = self.get_body_arguments("path")
            error = {"action": action, "file_id": form.get("file_id", ""), "message": exc.message}
            await self.show(request_id, error, form, status_for(exc))
            return
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
            raise InvalidInput(
                "That page of the PDF cannot be shown: the file is not a readable PDF, or has fewer pages."
            )
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
