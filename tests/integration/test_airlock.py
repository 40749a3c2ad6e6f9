"""The airlock as the hub runs it: results leave a real workspace only through checks and two reviews.

Attempts to abuse it (identifiers, raw rows, self-approval, ...) are in tests/security/test_airlock_attempts.py.
"""

import os

import pytest
import requests

pytestmark = pytest.mark.integration

AGGREGATE = "sex,n\nFemale,1043\nMale,957\n"


class Airlock:
    """The egress-review API behind the hub's proxy, as one signed-in person (token auth)."""

    def __init__(self, enclave, name):
        self.user = enclave.login(name)
        self.base = f"{enclave.url}/services/egress-review/api"
        self.headers = {"Authorization": f"token {self.user.token()}"}

    def call(self, method, path, **kwargs):
        return requests.request(method, self.base + path, headers=self.headers, timeout=120, **kwargs)

    def ok(self, method, path, **kwargs):
        reply = self.call(method, path, **kwargs)
        assert reply.status_code in (200, 201), reply.text
        return reply.json()


def _request_for(airlock, project, files):
    request = airlock.ok("POST", "/requests", json={"project": project, "title": "results"})
    rid = request["id"]
    airlock.ok("POST", f"/requests/{rid}/groups", json={"name": "tables", "context": "counts by sex",
                                                      "controls": "all cells >= 10"})
    for path in files:
        airlock.ok("POST", f"/requests/{rid}/files", json={"path": path, "group": "tables"})
    return rid


def test_result_leaves_after_checks_and_two_independent_approvals(enclave, alice_alpha):
    alice_alpha.run(f"open('/home/analyst/outbox/by_sex.csv', 'w').write({AGGREGATE!r})")
    analyst = Airlock(enclave, "alice")
    rid = _request_for(analyst, "alpha", ["by_sex.csv"])
    detail = analyst.ok("POST", f"/requests/{rid}/submit")
    assert detail["state"] == "submitted"
    (staged,) = detail["staged_files"]
    assert not staged["blocked"] and {c["rule"] for c in staged["checks"]} >= {"file_type", "participant_identifiers"}

    # Nobody downloads before the reviews, and the analyst cannot review their own request.
    assert analyst.call("GET", f"/requests/{rid}/files/{staged['id']}/download").status_code in (403, 409)
    assert analyst.call("POST", f"/requests/{rid}/votes", json={"decision": "approve"}).status_code == 403

    first, second = Airlock(enclave, "rita"), Airlock(enclave, "rex")
    first.ok("POST", f"/requests/{rid}/votes", json={"decision": "approve"})
    assert first.call("POST", f"/requests/{rid}/votes", json={"decision": "approve"}).status_code in (403, 409)
    # The second reviewer does not see the first vote before casting their own.
    before = second.ok("GET", f"/requests/{rid}")
    assert before["votes_hidden"] is True and before["votes"] == []
    after = second.ok("POST", f"/requests/{rid}/votes", json={"decision": "approve"})
    assert after["state"] == "released"

    download = analyst.call("GET", f"/requests/{rid}/files/{staged['id']}/download")
    assert download.status_code == 200
    assert download.content == AGGREGATE.encode()
    assert download.headers["X-Content-SHA256"] == staged["sha256"]
    # Only the requesting analyst downloads.
    assert first.call("GET", f"/requests/{rid}/files/{staged['id']}/download").status_code in (403, 404)


def test_the_airlock_names_the_recipient_and_project_of_every_response_for_the_edge(enclave, alice_alpha):
    """Straight at the airlock's own port (the edge reads and removes these headers, contract C4): a
    reviewer's view of a request, a refusal and a list each name the reviewer; only the request's name
    the project."""
    alice_alpha.run(f"open('/home/analyst/outbox/by_sex_2.csv', 'w').write({AGGREGATE!r})")
    rid = _request_for(Airlock(enclave, "alice"), "alpha", ["by_sex_2.csv"])
    Airlock(enclave, "alice").ok("POST", f"/requests/{rid}/submit")
    direct = f"http://127.0.0.1:{enclave.settings.egress_port}/services/egress-review"
    headers = {"Authorization": f"token {enclave.login('rex').token()}"}
    replies = {
        "detail": requests.get(f"{direct}/api/requests/{rid}", headers=headers, timeout=60),
        "page": requests.get(f"{direct}/requests/{rid}", headers=headers, timeout=60),
        "refused": requests.get(f"{direct}/api/requests/{rid}/files/1/download", headers=headers, timeout=60),
        "queue": requests.get(f"{direct}/api/requests?view=queue", headers=headers, timeout=60),
    }
    assert replies["detail"].status_code == 200 and replies["page"].status_code == 200
    assert replies["refused"].status_code in (403, 404) and replies["queue"].status_code == 200
    named = {what: (r.headers.get("X-Enclave-Recipient"), r.headers.get("X-Enclave-Project")) for what, r in replies.items()}
    assert named == {"detail": ("rex", "alpha"), "page": ("rex", "alpha"), "refused": ("rex", "alpha"),
                     "queue": ("rex", None)}
    Airlock(enclave, "alice").ok("POST", f"/requests/{rid}/withdraw")


def test_the_services_own_token_cannot_reach_analysts_servers(enclave, alice_alpha):
    pid = next(p for p in os.listdir("/proc") if p.isdigit() and _is_airlock(p, enclave))
    environ = dict(item.split("=", 1) for item in open(f"/proc/{pid}/environ").read().split("\0") if "=" in item)
    reply = requests.get(f"{alice_alpha.user.server_url('alpha')}/api/contents",
                         headers={"Authorization": f"token {environ['JUPYTERHUB_API_TOKEN']}"}, timeout=30)
    assert reply.status_code == 403


def _is_airlock(pid: str, enclave) -> bool:
    try:
        cmdline = open(f"/proc/{pid}/cmdline").read()
        environ = open(f"/proc/{pid}/environ").read()
    except OSError:
        return False
    return "egress_review" in cmdline and f"ENCLAVE_STATE_DIR={enclave.settings.state_dir}" in environ
