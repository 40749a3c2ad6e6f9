"""The OpenAPI 3 description of the JSON API (hand-written; a test checks
every documented path is routed and every API route is documented)."""

from __future__ import annotations

from typing import Any

from ..domain.states import RequestState, VoteDecision

_REF = "#/components/schemas/"


def _json(schema_name: str) -> dict:
    return {"application/json": {"schema": {"$ref": _REF + schema_name}}}


def _errors(*codes: int) -> dict:
    text = {
        400: "Malformed input; the message says what to fix.",
        401: "Not signed in: send 'Authorization: token <hub token>' or sign in through the hub.",
        403: "Signed in but not allowed (scope, membership, own request).",
        404: "No such request or file that you can see.",
        409: "The request's state does not allow this now.",
        422: "A file was refused (symlink, outside the outbox, special, too large, too many).",
        500: "A staged file failed its integrity check (never caused by input).",
        503: "Staging failed; nothing changed.",
        507: "The staging disk is full; nothing changed.",
    }
    return {str(c): {"description": text[c], "content": _json("Error")} for c in codes}


def _op(summary: str, ok: dict, *errors: int, body: str | None = None, params: list | None = None) -> dict:
    op: dict[str, Any] = {"summary": summary, "responses": {**ok, **_errors(401, 403, *errors)}}
    if body:
        op["requestBody"] = {"required": True, "content": _json(body)}
    if params:
        op["parameters"] = params
    return op


_DETAIL_OK = {"200": {"description": "The request as the caller may see it.", "content": _json("RequestDetail")}}
_DETAIL_CREATED = {"201": {"description": "The request as the caller may see it.", "content": _json("RequestDetail")}}
_REQUEST_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}}
_FILE_ID = {
    "name": "file_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
    "description": "For download, decision, override and comments: a staged file id; for DELETE: a draft file id.",
}
_REASON = {
    "name": "reason",
    "in": "query",
    "required": False,
    "description": "Operators: why you open the content of this request's files (kept in the audit log). "
    "Without it an operator sees what the author sees.",
    "schema": {"type": "string"},
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "Stable machine code."},
            "message": {"type": "string", "description": "What to do next."},
        },
    },
    "Me": {
        "type": "object",
        "required": ["name", "roles"],
        "properties": {
            "name": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string", "enum": ["request", "review", "operate"]}},
        },
    },
    "NewRequest": {
        "type": "object",
        "required": ["project"],
        "properties": {"project": {"type": "string"}, "title": {"type": "string"}},
    },
    "Group": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "context": {"type": "string", "description": "What the files are."},
            "controls": {"type": "string", "description": "Disclosure controls applied."},
        },
    },
    "NewFile": {
        "type": "object",
        "required": ["path", "group"],
        "properties": {
            "path": {"type": "string", "description": "Path relative to the analyst's outbox."},
            "group": {"type": "string"},
            "comment": {"type": "string"},
        },
    },
    "Vote": {
        "type": "object",
        "required": ["decision"],
        "properties": {
            "decision": {"type": "string", "enum": [d.value for d in VoteDecision]},
            "reason": {"type": "string", "description": "Required for request_changes and reject."},
        },
    },
    "NewComment": {
        "type": "object",
        "required": ["body"],
        "properties": {"body": {"type": "string"}, "file_id": {"type": ["integer", "null"]}},
    },
    "Reason": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
    "RequestSummary": {
        "type": "object",
        "required": ["id", "project", "author", "state", "round"],
        "properties": {
            "id": {"type": "string"},
            "project": {"type": "string"},
            "author": {"type": "string"},
            "title": {"type": "string"},
            "state": {"type": "string", "enum": [s.value for s in RequestState]},
            "round": {"type": "integer"},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "submitted_at": {"type": ["string", "null"]},
            "decided_at": {"type": ["string", "null"]},
            "you_voted": {"type": "boolean"},
        },
    },
    "CheckRecord": {
        "type": "object",
        "required": ["rule", "version", "parameters", "verdict", "summary", "findings"],
        "properties": {
            "rule": {"type": "string"},
            "version": {"type": "string"},
            "parameters": {"type": "object"},
            "verdict": {"type": "string", "enum": ["pass", "flag", "block", "error"]},
            "summary": {"type": "string"},
            "details_withheld": {
                "type": "boolean",
                "description": "True when the summary and findings are the author's view: a fixed sentence "
                "per rule and the place (row, column, line), never the values the check found.",
            },
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"message": {"type": "string"}, "location": {"type": "string"}},
                },
            },
        },
    },
    "StagedFile": {
        "type": "object",
        "required": ["id", "path", "group", "sha256", "size_bytes", "checks", "blocked"],
        "properties": {
            "id": {"type": "integer"},
            "round": {"type": "integer"},
            "path": {"type": "string"},
            "group": {"type": "string"},
            "comment": {"type": "string"},
            "sha256": {"type": "string"},
            "size_bytes": {"type": "integer"},
            "staged_at": {"type": "string"},
            "checks": {"type": "array", "items": {"$ref": _REF + "CheckRecord"}},
            "worst_verdict": {"type": "string"},
            "blocked": {"type": "boolean"},
            "overrides": {"type": "array", "items": {"type": "object"}},
            "approvals": {
                "type": ["integer", "null"],
                "description": "Approvals of this file in the current round (never who); null for a reviewer "
                "who has not decided it yet.",
            },
            "approvals_required": {"type": "integer"},
            "your_decision": {"type": ["object", "null"], "description": "The caller's decision on this file."},
            "unchanged_since": {
                "type": ["object", "null"],
                "description": "When the previous round held the same bytes at the same path: that round and "
                "its approvals of the file (decided again in this round).",
            },
            "decisions": {
                "type": "array",
                "items": {"type": "object"},
                "description": "Who decided what: once the round is closed, or to a reviewer who decided every file.",
            },
        },
    },
    "RequestDetail": {
        "allOf": [
            {"$ref": _REF + "RequestSummary"},
            {
                "type": "object",
                "required": ["groups", "staged_files", "votes", "votes_hidden", "comments", "allowed_actions"],
                "properties": {
                    "approvals_required": {"type": "integer"},
                    "reviews_done": {
                        "type": ["integer", "null"],
                        "description": "While the round is open: how many reviewers have decided every file.",
                    },
                    "groups": {"type": "array", "items": {"type": "object"}},
                    "staged_files": {"type": "array", "items": {"$ref": _REF + "StagedFile"}},
                    "your_vote": {"type": ["object", "null"]},
                    "votes_hidden": {
                        "type": "boolean",
                        "description": "True while the round is open and the caller has not voted in it.",
                    },
                    "votes": {"type": "array", "items": {"type": "object"}},
                    "comments": {"type": "array", "items": {"type": "object"}},
                    "release": {"type": ["object", "null"]},
                    "revocation": {"type": ["object", "null"]},
                    "allowed_actions": {"type": "array", "items": {"type": "string"}},
                    "content": {
                        "type": "object",
                        "description": "Whether the caller gets the content of the staged files: audience "
                        "'reviewer', 'operator' (with a reason) or 'nobody' (the author, and everyone once "
                        "nobody reviews the request); shown is true when check findings are in full.",
                        "properties": {
                            "audience": {"type": "string", "enum": ["nobody", "reviewer", "operator"]},
                            "shown": {"type": "boolean"},
                        },
                    },
                },
            },
        ]
    },
    "Manifest": {
        "type": "object",
        "required": ["manifest_sha256", "manifest"],
        "properties": {"manifest_sha256": {"type": "string"}, "manifest": {"type": "object"}},
    },
    "AuditEntries": {
        "type": "object",
        "required": ["entries"],
        "properties": {"entries": {"type": "array", "items": {"type": "object"}}},
    },
    "AuditVerification": {
        "type": "object",
        "required": ["entries", "intact", "problems"],
        "properties": {
            "entries": {"type": "integer"},
            "intact": {"type": "boolean"},
            "problems": {"type": "array", "items": {"type": "object"}},
        },
    },
}


def openapi_spec(base_url: str = "/") -> dict[str, Any]:
    r, f = _REQUEST_ID, _FILE_ID
    paths: dict[str, Any] = {
        "/api/me": {
            "get": _op("Who you are and your airlock roles.", {"200": {"description": "You.", "content": _json("Me")}})
        },
        "/api/requests": {
            "get": _op(
                "List requests: yours (mine), awaiting your vote (queue), or every submitted one (all).",
                {
                    "200": {
                        "description": "Requests.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["requests"],
                                    "properties": {
                                        "requests": {"type": "array", "items": {"$ref": _REF + "RequestSummary"}}
                                    },
                                }
                            }
                        },
                    }
                },
                400,
                params=[
                    {
                        "name": "view",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["mine", "queue", "all"]},
                    }
                ],
            ),
            "post": _op(
                "Create a draft request for a project you are an active member of (at most a configured number "
                "of open requests per person: 409 limit_reached).",
                _DETAIL_CREATED,
                400,
                409,
                body="NewRequest",
            ),
        },
        "/api/requests/{request_id}": {
            "get": _op(
                "One request. Check findings in full (which may quote the files) only for the project's reviewers "
                "while they review, and operators who give a reason (audited); others get places, not values.",
                _DETAIL_OK,
                400,
                404,
                params=[r, _REASON],
            )
        },
        "/api/requests/{request_id}/groups": {
            "post": _op(
                "Create or update a named group (context, controls).",
                _DETAIL_OK,
                400,
                404,
                409,
                body="Group",
                params=[r],
            )
        },
        "/api/requests/{request_id}/files": {
            "post": _op(
                "Add a file from your outbox to a group.",
                _DETAIL_CREATED,
                400,
                404,
                409,
                422,
                body="NewFile",
                params=[r],
            )
        },
        "/api/requests/{request_id}/files/{file_id}": {
            "delete": _op("Remove a file from a draft.", _DETAIL_OK, 400, 404, 409, params=[r, f])
        },
        "/api/requests/{request_id}/files/{file_id}/download": {
            "get": _op(
                "Download a released file (the requesting analyst only); its hash is checked first.",
                {
                    "200": {
                        "description": "The exact reviewed bytes; X-Content-SHA256 carries their hash.",
                        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                    }
                },
                400,
                404,
                409,
                500,
                params=[r, f],
            )
        },
        "/api/requests/{request_id}/files/{file_id}/override": {
            "post": _op(
                "Operator: let a blocked file be approved, with a written reason.",
                _DETAIL_OK,
                400,
                404,
                409,
                body="Reason",
                params=[r, f],
            )
        },
        "/api/requests/{request_id}/files/{file_id}/decision": {
            "post": _op(
                "Reviewer: approve, reject or ask for changes to one file of the current round (one decision per "
                "reviewer per file; a reason is required unless approving). The request is released once every "
                "file is approved by the required number of reviewers.",
                _DETAIL_OK,
                400,
                404,
                409,
                body="Vote",
                params=[r, f],
            )
        },
        "/api/requests/{request_id}/submit": {
            "post": _op(
                "Stage and check every file, then submit (or resubmit).",
                _DETAIL_OK,
                400,
                404,
                409,
                422,
                503,
                507,
                params=[r],
            )
        },
        "/api/requests/{request_id}/withdraw": {
            "post": _op("Withdraw your request.", _DETAIL_OK, 404, 409, params=[r])
        },
        "/api/requests/{request_id}/release": {
            "post": _op(
                "Operator: retry the release of an approved request.", _DETAIL_OK, 404, 409, 500, 503, 507, params=[r]
            )
        },
        "/api/requests/{request_id}/revoke": {
            "post": _op(
                "Operator: revoke an approved or released request (reason required).",
                _DETAIL_OK,
                400,
                404,
                409,
                body="Reason",
                params=[r],
            )
        },
        "/api/requests/{request_id}/votes": {
            "post": _op(
                "Reviewer: the same decision on every file of the round you have not decided yet (not your own "
                "request); completes your review of the round.",
                _DETAIL_OK,
                400,
                404,
                409,
                body="Vote",
                params=[r],
            )
        },
        "/api/requests/{request_id}/comments": {
            "post": _op(
                "Comment on a request or one of its files.",
                _DETAIL_CREATED,
                400,
                404,
                409,
                body="NewComment",
                params=[r],
            )
        },
        "/api/requests/{request_id}/manifest": {
            "get": _op(
                "The release manifest (files, hashes, check record, approvals, times). "
                "Once the release is revoked: operators only, with a reason (audited).",
                {"200": {"description": "The manifest.", "content": _json("Manifest")}},
                400,
                404,
                409,
                params=[r, _REASON],
            )
        },
        "/api/audit": {
            "get": _op(
                "Operator: the newest audit entries.",
                {"200": {"description": "Entries, newest first.", "content": _json("AuditEntries")}},
                400,
                params=[
                    {"name": "request_id", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                ],
            )
        },
        "/api/audit/verify": {
            "get": _op(
                "Operator: check the audit log's hash chain.",
                {"200": {"description": "Result.", "content": _json("AuditVerification")}},
            )
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This description.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "egress-review (the enclave's airlock)",
            "version": "1",
            "description": "Request, review and download result files. Authenticate with a JupyterHub token "
            "('Authorization: token <token>') whose scopes include custom:egress:request, "
            "custom:egress:review or custom:egress:operate.",
        },
        "servers": [{"url": base_url.rstrip("/") or "/"}],
        "security": [{"hubToken": []}],
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"hubToken": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        },
    }
