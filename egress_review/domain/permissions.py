"""Who may act: scopes granted through the hub, project membership, authorship.

Paired ``check_*`` (raises) and ``can_*`` (answers) functions. What the
request's *state* allows is in policies.py; these functions only look at the
person. Everything fails closed: a missing scope, an unknown project or a
membership the directory cannot confirm all deny.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from ..directory import ProjectDirectory
from .exceptions import MissingScope, NotAuthor, NotProjectMember, OwnRequestReview, ProjectNotActive, RequestNotFound
from .states import RequestState


class Scope(str, enum.Enum):
    """JupyterHub custom scopes the service checks itself."""

    REQUEST = "custom:egress:request"
    REVIEW = "custom:egress:review"
    OPERATE = "custom:egress:operate"


@dataclass(frozen=True)
class Principal:
    """The person acting, as the hub identified them."""

    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has(self, scope: Scope) -> bool:
        # Only the unfiltered scope counts; a filtered form such as
        # "custom:egress:review!group=x" is not understood and so denies.
        return scope.value in self.scopes

    @property
    def roles(self) -> list[str]:
        return [s.name.lower() for s in Scope if self.has(s)]


class RequestLike(Protocol):
    project: str
    author: str
    state: str


_SCOPE_HELP = {  # (what the scope allows, the role that has it), in the words people use
    Scope.REQUEST: ("request releases", "analyst"),
    Scope.REVIEW: ("review release requests", "reviewer"),
    Scope.OPERATE: ("operate the airlock (revoke releases, override blocks)", "operator"),
}


def check_scope(principal: Principal, scope: Scope) -> None:
    if not principal.has(scope):
        what, role = _SCOPE_HELP[scope]
        raise MissingScope(
            f"Your account cannot {what}: that needs the {role} role. "
            "Ask an operator to give it to you, then sign out and in again."
        )


def role_names(scopes) -> str:
    """The roles that hold ``scopes``, as people call them ("analyst or reviewer")."""
    return " or ".join(_SCOPE_HELP[s][1] for s in scopes)


def can_scope(principal: Principal, scope: Scope) -> bool:
    return principal.has(scope)


def check_can_request_for(principal: Principal, project: str, directory: ProjectDirectory) -> None:
    """May this person create or change a request for ``project``?"""
    check_scope(principal, Scope.REQUEST)
    status = directory.project_status(project)
    if status is None:
        raise NotProjectMember(f"There is no project '{project}' you belong to. Check the project's name.")
    if not directory.is_active_member(project, principal.name):
        raise NotProjectMember(
            f"You are not an active member of project '{project}'. Ask the project's lead to add you."
        )
    if status != "active":
        raise ProjectNotActive(f"Project '{project}' is {status}: it cannot request releases. Ask an operator.")


def can_request_for(principal: Principal, project: str, directory: ProjectDirectory) -> bool:
    try:
        check_can_request_for(principal, project, directory)
    except (MissingScope, NotProjectMember, ProjectNotActive):
        return False
    return True


def check_is_author(principal: Principal, request: RequestLike) -> None:
    if principal.name != request.author:
        raise NotAuthor("Only the analyst who created this request can do that.")


def can_be_author(principal: Principal, request: RequestLike) -> bool:
    return principal.name == request.author


def check_can_review(principal: Principal, request: RequestLike) -> None:
    check_scope(principal, Scope.REVIEW)
    if principal.name == request.author:
        raise OwnRequestReview("You cannot review your own request; another reviewer must do it.")


def can_review(principal: Principal, request: RequestLike) -> bool:
    return principal.has(Scope.REVIEW) and principal.name != request.author


def check_can_operate(principal: Principal) -> None:
    check_scope(principal, Scope.OPERATE)


def can_operate(principal: Principal) -> bool:
    return principal.has(Scope.OPERATE)


def check_can_view(principal: Principal, request: RequestLike) -> None:
    """Authors see their own requests; reviewers and operators see every
    request that has left draft. Anyone else is told it does not exist, so
    request ids do not reveal other people's work."""
    if can_view(principal, request):
        return
    raise RequestNotFound("There is no such request you can see. Check the link or the request id.")


def can_view(principal: Principal, request: RequestLike) -> bool:
    if principal.name == request.author and principal.has(Scope.REQUEST):
        return True
    if request.state == RequestState.DRAFT.value:
        return False
    return principal.has(Scope.REVIEW) or principal.has(Scope.OPERATE)


def check_can_download(principal: Principal, request: RequestLike, directory: ProjectDirectory) -> None:
    """Only the requesting analyst, still an active member of the project,
    downloads released files (see docs/reviewers.md, "Who can download")."""
    check_scope(principal, Scope.REQUEST)
    check_is_author(principal, request)
    if not directory.is_active_member(request.project, principal.name):
        raise NotProjectMember(
            f"You are no longer an active member of project '{request.project}', so you cannot "
            "download its released files. Ask the project's lead."
        )
