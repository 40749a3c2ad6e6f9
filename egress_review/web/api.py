"""The JSON API (described in openapi.py, served at api/openapi.json)."""

from __future__ import annotations

import json
import re

from ..domain.exceptions import InvalidInput
from ..domain.permissions import Scope
from ..services import auditlog, views
from .base import ApiHandler, int_arg, str_field
from .openapi import openapi_spec
from .recipient import RELEASED_HEADER

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class OpenApiHandler(ApiHandler):
    required_scopes = ()

    def prepare(self):  # public: the description of the API is not a secret
        pass

    def get(self):
        self.write_json(openapi_spec(self.settings["base_url"]))


class MeHandler(ApiHandler):
    def get(self):
        p = self.require_principal()
        self.write_json({"name": p.name, "roles": p.roles})


class RequestsHandler(ApiHandler):
    async def get(self):
        p = self.require_principal()
        view = self.get_argument("view", "mine")
        if view not in ("mine", "queue", "all"):
            raise InvalidInput("'view' is one of: mine, queue, all.")
        self.write_json({"requests": await self.run(views.list_requests, self.airlock.ctx, p, view)})

    async def post(self):
        p = self.require_principal()
        body = self.json_body()
        request_id = await self.run(
            self.airlock.requests.create, p, str_field(body, "project", required=True), str_field(body, "title")
        )
        self.write_json(await self.run(views.request_detail, self.airlock.ctx, p, request_id), status=201)


class RequestHandler(ApiHandler):
    request_scoped = True

    async def get(self, request_id):
        p = self.require_principal()
        reason = self.get_argument("reason", "")
        self.write_json(await self.run(views.request_detail, self.airlock.ctx, p, request_id, reason))

    async def detail(self, p, request_id, status=200):
        self.write_json(await self.run(views.request_detail, self.airlock.ctx, p, request_id), status=status)


class GroupsHandler(RequestHandler):
    async def post(self, request_id):
        p = self.require_principal()
        body = self.json_body()
        await self.run(
            self.airlock.requests.save_group,
            p,
            request_id,
            str_field(body, "name", required=True),
            str_field(body, "context"),
            str_field(body, "controls"),
        )
        await self.detail(p, request_id)


class FilesHandler(RequestHandler):
    async def post(self, request_id):
        p = self.require_principal()
        body = self.json_body()
        await self.run(
            self.airlock.requests.add_file,
            p,
            request_id,
            str_field(body, "path", required=True),
            str_field(body, "group", required=True),
            str_field(body, "comment"),
        )
        await self.detail(p, request_id, status=201)


class FileHandler(RequestHandler):
    async def delete(self, request_id, file_id):
        p = self.require_principal()
        await self.run(self.airlock.requests.remove_file, p, request_id, int_arg(file_id))
        await self.detail(p, request_id)


class SubmitHandler(RequestHandler):
    async def post(self, request_id):
        p = self.require_principal()
        await self.run(self.airlock.requests.submit, p, request_id)
        await self.detail(p, request_id)


class WithdrawHandler(RequestHandler):
    async def post(self, request_id):
        p = self.require_principal()
        await self.run(self.airlock.requests.withdraw, p, request_id)
        await self.detail(p, request_id)


class ReleaseHandler(RequestHandler):
    async def post(self, request_id):
        p = self.require_principal()
        await self.run(self.airlock.releases.release, p, request_id)
        await self.detail(p, request_id)


class VotesHandler(RequestHandler):
    async def post(self, request_id):
        p = self.require_principal()
        body = self.json_body()
        await self.run(
            self.airlock.reviews.vote,
            p,
            request_id,
            str_field(body, "decision", required=True),
            str_field(body, "reason"),
        )
        await self.detail(p, request_id)


class DecisionHandler(RequestHandler):
    async def post(self, request_id, file_id):
        p = self.require_principal()
        body = self.json_body()
        await self.run(
            self.airlock.reviews.decide,
            p,
            request_id,
            int_arg(file_id),
            str_field(body, "decision", required=True),
            str_field(body, "reason"),
        )
        await self.detail(p, request_id)


class CommentsHandler(RequestHandler):
    async def post(self, request_id):
        p = self.require_principal()
        body = self.json_body()
        file_id = body.get("file_id")
        if file_id is not None and (not isinstance(file_id, int) or isinstance(file_id, bool)):
            raise InvalidInput("'file_id' must be a whole number (a file of the request's current round).")
        await self.run(self.airlock.reviews.comment, p, request_id, str_field(body, "body", required=True), file_id)
        await self.detail(p, request_id, status=201)


class OverrideHandler(RequestHandler):
    async def post(self, request_id, file_id):
        p = self.require_principal()
        body = self.json_body()
        await self.run(
            self.airlock.reviews.override_block,
            p,
            request_id,
            int_arg(file_id),
            str_field(body, "reason", required=True),
        )
        await self.detail(p, request_id)


class RevokeHandler(RequestHandler):
    async def post(self, request_id):
        p = self.require_principal()
        body = self.json_body()
        await self.run(self.airlock.releases.revoke, p, request_id, str_field(body, "reason", required=True))
        await self.detail(p, request_id)


class DownloadHandler(ApiHandler):
    request_scoped = True

    async def get(self, request_id, file_id):
        p = self.require_principal()
        download = await self.run(self.airlock.releases.download, p, request_id, int_arg(file_id))
        send_download(self, download)


def send_download(handler, download) -> None:
    filename = _SAFE_NAME.sub("_", download.filename) or "download"
    handler.set_header("Content-Type", "application/octet-stream")
    handler.set_header("Content-Disposition", f'attachment; filename="{filename}"')
    handler.set_header("X-Content-SHA256", download.sha256)
    handler.set_header(RELEASED_HEADER, download.sha256)  # only released files are downloadable
    handler.finish(download.content)


class ManifestHandler(ApiHandler):
    request_scoped = True

    async def get(self, request_id):
        p = self.require_principal()
        reason = self.get_argument("reason", "")
        self.write_json(await self.run(self.airlock.releases.manifest, p, request_id, reason))


class AuditHandler(ApiHandler):
    required_scopes = (Scope.OPERATE,)

    async def get(self):
        p = self.require_principal()
        request_id = self.get_argument("request_id", None)
        limit = int_arg(self.get_argument("limit", "200"), "limit")
        self.write_json({"entries": await self.run(auditlog.list_entries, self.airlock.ctx, p, request_id, limit)})


class AuditVerifyHandler(ApiHandler):
    required_scopes = (Scope.OPERATE,)

    async def get(self):
        p = self.require_principal()
        self.write_json(await self.run(auditlog.verify, self.airlock.ctx, p))


class ApiNotFoundHandler(ApiHandler):
    required_scopes = ()

    def prepare(self):
        self.write_json(
            {
                "error": "not_found",
                "message": "There is nothing at this address. See api/openapi.json for the API's paths.",
            },
            status=404,
        )


def api_routes(prefix: str) -> list[tuple[str, type]]:
    rid = r"([^/]+)"
    return [
        (prefix + r"api/openapi\.json", OpenApiHandler),
        (prefix + r"api/me", MeHandler),
        (prefix + r"api/requests", RequestsHandler),
        (prefix + rf"api/requests/{rid}", RequestHandler),
        (prefix + rf"api/requests/{rid}/groups", GroupsHandler),
        (prefix + rf"api/requests/{rid}/files", FilesHandler),
        (prefix + rf"api/requests/{rid}/files/{rid}", FileHandler),
        (prefix + rf"api/requests/{rid}/files/{rid}/download", DownloadHandler),
        (prefix + rf"api/requests/{rid}/files/{rid}/override", OverrideHandler),
        (prefix + rf"api/requests/{rid}/files/{rid}/decision", DecisionHandler),
        (prefix + rf"api/requests/{rid}/submit", SubmitHandler),
        (prefix + rf"api/requests/{rid}/withdraw", WithdrawHandler),
        (prefix + rf"api/requests/{rid}/release", ReleaseHandler),
        (prefix + rf"api/requests/{rid}/revoke", RevokeHandler),
        (prefix + rf"api/requests/{rid}/votes", VotesHandler),
        (prefix + rf"api/requests/{rid}/comments", CommentsHandler),
        (prefix + rf"api/requests/{rid}/manifest", ManifestHandler),
        (prefix + r"api/audit", AuditHandler),
        (prefix + r"api/audit/verify", AuditVerifyHandler),
        (prefix + r"api/.*", ApiNotFoundHandler),
    ]


__all__ = ["api_routes", "json"]
