"""The states of an egress request, and the votes a reviewer can cast.

Why this set (and not the issue's nine):

- DRAFT: the analyst is assembling groups and files; nothing is staged.
- SUBMITTED: files are staged and checked; independent reviewers vote. There
  is no separate IN_REVIEW state: "one vote is in" is data (the votes of the
  current round), not a state with different rules, and a state that flips on
  the first vote would make two reviewers voting at the same moment race on
  that flip. Reviewers and the analyst see the same SUBMITTED state until the
  round closes.
- CHANGES_REQUESTED: the round closed with at least one "request changes"
  vote and no rejection; the analyst edits (replaces files) and resubmits,
  which opens a new round with fresh staging, checks and votes.
- APPROVED: the round closed with the required number of approvals. Kept
  separate from RELEASED because releasing does disk work (re-hashing every
  staged file, writing the manifest) that can fail; an APPROVED request whose
  release failed stays visible and an operator can retry the release.
- RELEASED: the manifest is written; the author can download the files.
- REJECTED, WITHDRAWN, REVOKED: terminal. REVOKED is an operator's decision
  after approval or release (downloads stop).
"""

from __future__ import annotations

import enum


class RequestState(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RELEASED = "released"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


#: States in which the author may change groups and files.
EDITABLE_STATES = frozenset({RequestState.DRAFT, RequestState.CHANGES_REQUESTED})

#: States from which no transition leads anywhere.
TERMINAL_STATES = frozenset({RequestState.REJECTED, RequestState.WITHDRAWN, RequestState.REVOKED})


class VoteDecision(str, enum.Enum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"

    @property
    def needs_reason(self) -> bool:
        return self is not VoteDecision.APPROVE
