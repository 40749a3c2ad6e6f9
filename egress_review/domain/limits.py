"""How much an analyst may write into the airlock, which shows it back to people.

Everything an analyst types (titles, group descriptions, notes, file names) or
creates (requests, groups, comments) is shown back by the airlock's pages and
API, so each is capped: without caps a request's fields would be an unmetered
store the author reads back. The caps are settings of the airlock
(``EgressReview.max_*``); these defaults are what the service uses when none
is configured.
"""

from __future__ import annotations

from dataclasses import dataclass

from .exceptions import LimitReached


@dataclass(frozen=True)
class InputLimits:
    title_chars: int = 200  # a request's title
    name_chars: int = 100  # a group's name
    description_chars: int = 4_000  # a group's context and controls, each
    note_chars: int = 2_000  # a file's note, a comment, a vote's or an operator's reason
    path_chars: int = 200  # a file's path relative to the outbox, as shown back
    groups_per_request: int = 20
    open_requests_per_person: int = 20  # drafts and requests still in review, per person
    comments_per_person_per_request: int = 100

    def check_groups(self, count: int) -> None:
        if count > self.groups_per_request:
            raise LimitReached(
                f"A request can have at most {self.groups_per_request} groups. "
                "Put more files into the groups you have, or split your outputs into several requests."
            )

    def check_open_requests(self, count: int) -> None:
        if count > self.open_requests_per_person:
            raise LimitReached(
                f"You can have at most {self.open_requests_per_person} open requests (drafts, or waiting "
                "for review or for your changes). Submit, finish or withdraw one first."
            )

    def check_comments(self, count: int) -> None:
        if count > self.comments_per_person_per_request:
            raise LimitReached(
                f"You can write at most {self.comments_per_person_per_request} comments on one request. "
                "Say more in fewer comments."
            )
