"""The real tornado app on loopback, identified by real HubOAuth against a
stand-in hub API: the JSON API and the pages, end to end."""

import hashlib
import re

import pytest

from egress_review.domain.permissions import Scope
from tests.support.airlock import AirlockClient


@pytest.fixture
def people(served, hub):
    return {
        "alice": AirlockClient.served(served, hub.add_user("alice", Scope.REQUEST)),
        "rita": AirlockClient.served(served, hub.add_user("rita", Scope.REVIEW)),
        "ravi": AirlockClient.served(served, hub.add_user("ravi", Scope.REVIEW)),
        "olive": AirlockClient.served(served, hub.add_user("olive", Scope.OPERATE)),
        "nobody": AirlockClient.served(served, hub.add_user("nobody")),
    }


def test_api_full_flow_analyst_submits_two_reviewers_approve_analyst_downloads_exact_bytes(env, people):
    content = b"group,n\na,12\nb,15\n"
    env.write_outbox("tables/counts.csv", content)
    alice, rita, ravi = people["alice"], people["rita"], people["ravi"]
    r = alice.post("api/requests", {"project": "proj-a", "title": "counts"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert (
        alice.post(f"api/requests/{rid}/groups", {"name": "main", "context": "counts", "controls": "n>=10"}).status_code
        == 200
    )
    assert alice.post(f"api/requests/{rid}/files", {"path": "tables/counts.csv", "group": "main"}).status_code == 201
    r = alice.post(f"api/requests/{rid}/submit")
    assert r.status_code == 200 and r.json()["state"] == "submitted"
    [staged] = r.json()["staged_files"]
    assert staged["sha256"] == hashlib.sha256(content).hexdigest()
    queue = rita.get("api/requests?view=queue").json()["requests"]
    assert [q["id"] for q in queue] == [rid]
    assert rita.post(f"api/requests/{rid}/votes", {"decision": "approve"}).json()["state"] == "submitted"
    assert ravi.get(f"api/requests/{rid}").json()["votes"] == []  # blind until ravi votes
    assert ravi.post(f"api/requests/{rid}/votes", {"decision": "approve"}).json()["state"] == "released"
    d = alice.get(f"api/requests/{rid}/files/{staged['id']}/download")
    assert d.status_code == 200 and d.content == content
    assert d.headers["X-Content-SHA256"] == staged["sha256"]
    assert d.headers["X-Enclave-Released"] == staged["sha256"]  # the edge relays it without counting it
    assert rita.get(f"api/requests/{rid}/files/{staged['id']}/download").status_code == 403
    m = alice.get(f"api/requests/{rid}/manifest").json()["manifest"]
    assert m["files"][0]["sha256"] == staged["sha256"]
    audit = people["olive"].get(f"api/audit?request_id={rid}").json()["entries"]
    assert "file.downloaded" in {e["event"] for e in audit}
    assert people["olive"].get("api/audit/verify").json()["intact"] is True


def test_no_scope_means_403_on_every_api_call(people):
    nobody = people["nobody"]
    r = nobody.get("api/requests")
    assert r.status_code == 403 and r.json()["error"] == "missing_scope"
    assert nobody.post("api/requests", {"project": "proj-a"}).status_code == 403


def test_user_the_hub_does_not_let_into_the_service_is_refused(served, hub):
    token = hub.add_user("outsider", Scope.REQUEST, access=False)
    r = AirlockClient.served(served, token).get("api/me")
    assert r.status_code in (401, 403)
    assert AirlockClient.served(served, "forged").get("api/me").status_code == 401


def test_errors_are_json_with_a_message_that_says_what_to_do(env, people):
    alice = people["alice"]
    r = alice.post("api/requests", {"project": "nope"})
    assert (
        r.status_code == 403
        and r.json()["error"] == "not_project_member"
        and "Check the project" in r.json()["message"]
    )
    rid = alice.post("api/requests", {"project": "proj-a"}).json()["id"]
    r = alice.post(f"api/requests/{rid}/files", {"path": "../../etc/passwd", "group": "g"})
    assert r.status_code == 422 and r.json()["error"] == "path_escapes_outbox"
    r = alice.post(f"api/requests/{rid}/files", {"path": 12, "group": "g"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_input"
    r = alice.post("api/requests", headers={"Content-Type": "application/json"}, data=b"\xff[")
    assert r.status_code == 400
    assert alice.get("api/requests/does-not-exist").status_code == 404
    assert alice.get(f"api/requests/{rid}/files/abc/download").json()["error"] == "invalid_input"
    r = alice.request("PUT", "api/requests")
    assert r.status_code == 405 and r.json()["message"]


def test_openapi_description_is_served_and_is_openapi_3(served):
    spec = AirlockClient.served(served, None).get("api/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/requests/{request_id}/votes" in spec["paths"]


def test_pages_reviewer_flow_with_previews_blinding_and_xsrf(env, served, hub):
    env.write_outbox("tables/counts.csv", "group,n\n<b>a</b>,12\n")
    env.write_outbox("plot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    alice = AirlockClient.served(served, hub.add_user("alice", Scope.REQUEST), pages=True)
    r, xsrf = alice.page("requests")
    assert r.status_code == 200 and "static/css/style.min.css" in r.text
    r = alice.form("requests", {"project": "proj-a", "title": "fig"}, xsrf)
    assert r.status_code == 302
    request_url = r.headers["Location"].split("/services/egress-review/")[1].split("?")[0]
    rid = request_url.split("/")[1]
    _, xsrf = alice.page(request_url)
    assert alice.form(f"{request_url}/group", {"name": "g", "context": "c", "controls": "k"}, xsrf).status_code == 302
    for path in ("tables/counts.csv", "plot.png"):
        assert alice.form(f"{request_url}/add-file", {"path": path, "group": "g"}, xsrf).status_code == 302
    assert alice.form(f"{request_url}/submit", {}, xsrf).status_code == 302
    # the same POST without the form's token is refused (CSRF)
    assert alice.post(f"{request_url}/withdraw", data={}).status_code == 403

    rita = AirlockClient.served(served, hub.add_user("rita", Scope.REVIEW), pages=True)
    page, rita_xsrf = rita.page(request_url)
    assert page.status_code == 200
    assert re.search(r'<td id="[^"]+">&lt;b&gt;a&lt;/b&gt;</td>', page.text)  # table rendered, cell escaped
    assert re.search(r'<img class="img-fluid preview"[^>]+/image"', page.text)
    assert 'id="votes-hidden"' in page.text
    img = rita.get(f"{request_url}/files/" + re.search(r"files/(\d+)/image", page.text).group(1) + "/image")
    assert img.status_code == 200 and img.headers["Content-Type"] == "image/png"
    r = rita.form(f"{request_url}/vote", {"decision": "reject", "reason": ""}, rita_xsrf)
    assert r.status_code == 400 and "reason" in r.text
    assert rita.form(f"{request_url}/vote", {"decision": "approve"}, rita_xsrf).status_code == 302
    page, _ = rita.page(request_url)
    assert "rita</strong> — approved" in page.text and 'id="vote-form"' not in page.text

    queue, _ = AirlockClient.served(served, hub.add_user("ravi", Scope.REVIEW), pages=True).page("review")
    assert rid in queue.text and "awaiting you" in queue.text


def test_page_without_login_redirects_to_the_hub(served):
    r = AirlockClient.served(served, None).get("requests", allow_redirects=False)
    assert r.status_code == 302 and "/hub/api/oauth2/authorize" in r.headers["Location"]
