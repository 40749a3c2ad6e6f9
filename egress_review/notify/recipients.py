"""Who receives a notice by email, from the directory of people the host gives the airlock.

The enclave's project directory also answers ``people_with_role`` and ``email_of``; a directory
that does not (or knows no email for someone) means those people get no mail, and the
dispatcher's audit entry names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .wording import AUTHOR, OPERATORS, REVIEWERS

_ROLE = {REVIEWERS: "reviewer", OPERATORS: "operator"}


@runtime_checkable
class PeopleDirectory(Protocol):
    def people_with_role(self, role: str) -> list[str]:
        """Active accounts holding ``role`` ("reviewer", "operator")."""

    def email_of(self, user: str) -> str | None:
        """The person's email address, or None when the enclave has none."""


@dataclass(frozen=True)
class Addressees:
    addresses: tuple[str, ...]  # where the mail goes
    people: tuple[str, ...]  # whom it reaches (account names, for the audit)
    without_email: tuple[str, ...]  # who would have received it but has no address


def addressees(directory: object, audience: str, author: str) -> Addressees:
    if not isinstance(directory, PeopleDirectory):
        return Addressees((), (), (author,) if audience == AUTHOR else ())
    if audience == AUTHOR:
        people = [author]
    else:
        # Reviewers never hear of their own request; the author is not its reviewer.
        people = [p for p in directory.people_with_role(_ROLE[audience]) if p != author]
    found = {p: directory.email_of(p) for p in sorted(set(people))}
    reached = {p: a for p, a in found.items() if a}
    return Addressees(
        addresses=tuple(sorted(set(reached.values()))),
        people=tuple(reached),
        without_email=tuple(p for p, a in found.items() if not a),
    )
