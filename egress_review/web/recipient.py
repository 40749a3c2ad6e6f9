"""Whom each response is counted against: the headers the edge reads, counts by and removes.

Every byte the airlock sends to a signed-in person can carry something an analyst wrote (titles,
notes, comments) or, for reviewers, a staged file's content. The enclave's edge meters it against
the person named here, under the project named here (or the airlock's pseudo-project when the
response concerns no single request). The names are the contract with the edge
(enclave/egress/channels.py, RECIPIENT_HEADER and PROJECT_HEADER); a unit test keeps them equal.
The airlock is a trusted host process, so the edge believes it; workspaces can never set these.
"""

from __future__ import annotations

RECIPIENT_HEADER = "X-Enclave-Recipient"
PROJECT_HEADER = "X-Enclave-Project"
# On a released file's download (its SHA-256): reviewed output, which the edge does not count against
# the downloader's budget (an approved release must never suspend its author).
RELEASED_HEADER = "X-Enclave-Released"


def recipient_headers(person: str | None, project: str | None) -> dict[str, str]:
    """The headers for a response to ``person`` (none for nobody signed in) about ``project``."""
    if not person:
        return {}
    headers = {RECIPIENT_HEADER: person}
    if project:
        headers[PROJECT_HEADER] = project
    return headers
