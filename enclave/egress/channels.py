"""The names the edge and the meter agree on: channels, pseudo-projects and the recipient headers.

A channel says which kind of route carried bytes to a browser; `enclave egress-usage` reports per
channel. Traffic that belongs to no workspace (the hub's API, the airlock's pages when they concern
no single project) is counted against the person under a pseudo-project, whose budget is the
installation's default per-person budget.
"""

from __future__ import annotations

CHANNELS = frozenset(
    {
        "kernel",  # kernel websockets (/user/<u>/<p>/api/kernels/<id>/channels)
        "terminal",  # terminal websockets
        "contents",  # api/contents reads and the echo of writes
        "app",  # operator-declared jupyter-server-proxy apps (spark-ui)
        "other-api",  # every other api/ and lab/api/ response of a workspace
        "page",  # every other response from a workspace (HTML pages such as /lab, redirects, errors)
        "websocket",  # websockets of a workspace other than kernels and terminals (api/events/subscribe, ...)
        "hub",  # the hub's API (/hub/api/) and pages
        "airlock",  # the airlock's pages and API (/services/egress-review/), reviewers' previews included
    }
)

HUB_PROJECT = "(hub)"  # counted against the person, outside any project
AIRLOCK_PROJECT = "(airlock)"  # the airlock's pages that concern no single project

# Set by trusted host services (the airlock; the hub) on their responses, read and removed by the
# edge: whom the response is counted against. A workspace's responses never get to choose.
RECIPIENT_HEADER = "X-Enclave-Recipient"
PROJECT_HEADER = "X-Enclave-Project"
# Set by the airlock on the download of a released file (its SHA-256): reviewed output, the one door
# results are meant to leave by. The edge relays it without counting it against the budget; the
# airlock's audit log records each download with its hash.
RELEASED_HEADER = "X-Enclave-Released"
