"""The airlock as the hub runs it: results leave a real workspace only through checks and two reviews.

Attempts to abuse it (identifiers, raw rows, self-approval, ...) are in
tests/browser/security/test_airlock_attempts.py.
"""

import os

import requests

from tests.support.airlock import AGGREGATE, AirlockClient, request_for


def test_result_leaves_after_checks_and_two_independent_approvals(enclave, alice_alpha):
    alice_alpha.run(f"open('/home/analyst/outbox/by_sex.csv', 'w').write({AGGREGATE!r})")
    analyst = AirlockClient.through_hub(enclave, "alice")
    rid = request_for(analyst, "alpha", ["by_sex.csv"])
    detail = analyst.ok("POST", f"api/requests/{rid}/submit")
    assert detail["state"] == "submitted"
    (staged,) = detail["staged_files"]
    assert not staged["blocked"] and {c["rule"] for c in staged["checks"]} >= {"file_type", "participant_identifiers"}

    # Nobody downloads before the reviews, and the analyst cannot review their own request.
    assert analyst.request("GET", f"api/requests/{rid}/files/{staged['id']}/download").status_code in (403, 409)
    assert analyst.request("POST", f"api/requests/{rid}/votes", json={"decision": "approve"}).status_code == 403

    first, second = AirlockClient.through_hub(enclave, "rita"), AirlockClient.through_hub(enclave, "rex")
    first.ok("POST", f"api/requests/{rid}/votes", json={"decision": "approve"})
    assert first.request("POST", f"api/requests/{rid}/votes", json={"decision": "approve"}).status_code in (403, 409)
    # The second reviewer does not see the first vote before casting their own.
    before = second.ok("GET", f"api/requests/{rid}")
    assert before["votes_hidden"] is True and before["votes"] == []
    after = second.ok("POST", f"api/requests/{rid}/votes", json={"decision": "approve"})
    assert after["state"] == "released"

    download = analyst.request("GET", f"api/requests/{rid}/files/{staged['id']}/download")
    assert download.status_code == 200
    assert download.content == AGGREGATE.encode()
    assert download.headers["X-Content-SHA256"] == staged["sha256"]
    # Only the requesting analyst downloads.
    assert first.request("GET", f"api/requests/{rid}/files/{staged['id']}/download").status_code in (403, 404)


def test_the_airlock_names_the_recipient_and_project_of_every_response_for_the_edge(enclave, alice_alpha):
    """Straight at the airlock's own port (the edge reads and removes these headers, contract C4): a
    reviewer's view of a request, a refusal and a list each name the reviewer; only the request's name
    the project."""
    alice_alpha.run(f"open('/home/analyst/outbox/by_sex_2.csv', 'w').write({AGGREGATE!r})")
    rid = request_for(AirlockClient.through_hub(enclave, "alice"), "alpha", ["by_sex_2.csv"])
    AirlockClient.through_hub(enclave, "alice").ok("POST", f"api/requests/{rid}/submit")
    direct = AirlockClient(
        f"http://127.0.0.1:{enclave.settings.egress_port}/services/egress-review",
        enclave.login("rex").token(),
        timeout=60,
    )
    replies = {
        "detail": direct.get(f"api/requests/{rid}"),
        "page": direct.get(f"requests/{rid}"),
        "refused": direct.get(f"api/requests/{rid}/files/1/download"),
        "queue": direct.get("api/requests?view=queue"),
    }
    assert replies["detail"].status_code == 200 and replies["page"].status_code == 200
    assert replies["refused"].status_code in (403, 404) and replies["queue"].status_code == 200
    named = {
        what: (r.headers.get("X-Enclave-Recipient"), r.headers.get("X-Enclave-Project")) for what, r in replies.items()
    }
    assert named == {
        "detail": ("rex", "alpha"),
        "page": ("rex", "alpha"),
        "refused": ("rex", "alpha"),
        "queue": ("rex", None),
    }
    AirlockClient.through_hub(enclave, "alice").ok("POST", f"api/requests/{rid}/withdraw")


def test_the_services_own_token_cannot_reach_analysts_servers(enclave, alice_alpha):
    pid = next(p for p in os.listdir("/proc") if p.isdigit() and _is_airlock(p, enclave))
    environ = dict(item.split("=", 1) for item in open(f"/proc/{pid}/environ").read().split("\0") if "=" in item)
    reply = requests.get(
        f"{alice_alpha.user.server_url('alpha')}/api/contents",
        headers={"Authorization": f"token {environ['JUPYTERHUB_API_TOKEN']}"},
        timeout=30,
    )
    assert reply.status_code == 403


def _is_airlock(pid: str, enclave) -> bool:
    try:
        cmdline = open(f"/proc/{pid}/cmdline").read()
        environ = open(f"/proc/{pid}/environ").read()
    except OSError:
        return False
    return "egress_review" in cmdline and f"ENCLAVE_STATE_DIR={enclave.settings.state_dir}" in environ
