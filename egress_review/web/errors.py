"""Domain exceptions → HTTP status codes, in one place."""

from __future__ import annotations

from http import HTTPStatus

from ..domain import exceptions as E

STATUS: dict[type[E.EgressError], int] = {
    E.InvalidInput: 400,
    E.ReasonRequired: 400,
    E.TextTooLong: 400,
    E.LimitReached: 409,
    E.NotAuthenticated: 401,
    E.MissingScope: 403,
    E.NotProjectMember: 403,
    E.ProjectNotActive: 403,
    E.NotAuthor: 403,
    E.OwnRequestReview: 403,
    E.ContentWithheld: 403,
    E.RequestNotFound: 404,
    E.FileNotInRequest: 404,
    E.GroupNotFound: 404,
    E.InvalidTransition: 409,
    E.RequestNotEditable: 409,
    E.AlreadyVoted: 409,
    E.FileBlocked: 409,
    E.DuplicateFile: 409,
    E.EmptyRequest: 409,
    E.NotReleased: 409,
    E.NothingToOverride: 409,
    E.ConcurrentChange: 409,
    E.FileRefused: 422,
    E.PathEscapesOutbox: 422,
    E.SymlinkRefused: 422,
    E.SpecialFileRefused: 422,
    E.OutboxFileMissing: 422,
    E.FileTooLarge: 422,
    E.TooManyFiles: 422,
    E.FileChangedDuringCopy: 422,
    E.StagingDiskFull: 507,
    E.StagingFailed: 503,
    E.IntegrityFailure: 500,
}


def status_for(exc: E.EgressError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def http_error_body(status: int, message: str | None = None) -> dict[str, str]:
    """The JSON body for an error tornado raised itself (404, 405, XSRF, ...)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    defaults = {
        400: "The request was malformed. Check the API description at api/openapi.json.",
        401: "Sign in through the hub, or send a hub API token in the Authorization header.",
        403: "You are not allowed to do that.",
        404: "There is nothing at this address. See api/openapi.json for the API's paths.",
        405: "That method is not allowed here. See api/openapi.json.",
    }
    return {
        "error": phrase.lower().replace(" ", "_").replace("-", "_"),
        "message": message
        or defaults.get(status, "Something went wrong; try again, and tell an operator if it persists."),
    }
