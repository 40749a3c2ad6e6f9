"""Who receives the content of staged files: the one rule, for pages, API and manifest alike.

Before release, the bytes of a staged file (previews, and check findings that quote values) go to
the project's reviewers only, and to operators who give a reason (audited). Never to the author:
an analyst who could read their staged files back through the airlock would have an unreviewed
way out (write an extract into ~/outbox, submit, read the preview, withdraw). The author sees
names, sizes, hashes, verdicts and where the checks found something, never what they found.
Withdrawn, rejected and revoked requests show content to operators only: nobody reviews them any
more. After release the author downloads the released files (releases.py), as before.
"""

from __future__ import annotations

import enum

from .exceptions import ContentWithheld, ReasonRequired
from .permissions import Principal, RequestLike, Scope
from .states import RequestState


class Audience(enum.Enum):
    NOBODY = "nobody"  # sees no content: the author, and everyone outside the rules below
    REVIEWER = "reviewer"  # sees content: a reviewer (not the author) while the request is reviewed or released
    OPERATOR = "operator"  # sees content after giving a reason, which is audited


#: States in which reviewers see the content they review (or reviewed and released).
REVIEWED_STATES = frozenset(
    {RequestState.SUBMITTED, RequestState.CHANGES_REQUESTED, RequestState.APPROVED, RequestState.RELEASED}
)


def content_audience(principal: Principal, request: RequestLike) -> Audience:
    if principal.name == request.author:
        return Audience.NOBODY  # whatever their scopes: an author-operator gets nothing either
    state = RequestState(request.state)
    if principal.has(Scope.REVIEW) and state in REVIEWED_STATES:
        return Audience.REVIEWER
    if principal.has(Scope.OPERATE) and state is not RequestState.DRAFT:
        return Audience.OPERATOR
    return Audience.NOBODY


def may_see_content(principal: Principal, request: RequestLike, reason: str) -> bool:
    """Does this person get content now (an operator only with a reason)?"""
    audience = content_audience(principal, request)
    return audience is Audience.REVIEWER or (audience is Audience.OPERATOR and bool(reason))


def check_may_see_content(principal: Principal, request: RequestLike, reason: str) -> Audience:
    audience = content_audience(principal, request)
    if audience is Audience.REVIEWER:
        return audience
    if audience is Audience.OPERATOR:
        if not reason:
            raise ReasonRequired(
                "Opening the content of a staged file needs a reason, which is kept in the audit log: "
                "add ?reason=<why> (on the request page: 'Open content')."
            )
        return audience
    raise ContentWithheld(
        "The content of staged files is shown only to the project's reviewers while they review it "
        "(and to operators, with a reason). Authors see names, sizes, hashes and check verdicts; "
        "released files are downloaded."
    )
