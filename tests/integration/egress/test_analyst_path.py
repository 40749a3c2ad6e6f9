"""The analyst's path through the real airlock pages (stand-in hub API): the create page lists their
projects and outbox, refusals appear on the form with what was typed kept, withdrawing asks first,
and reviewers decide file by file on the page."""

import re

from egress_review.domain.permissions import Scope
from egress_review.services.views import list_requests, request_detail
from harness.airlock_kit import analyst
from tests.support.airlock import AirlockClient


def rid_of(reply) -> str:
    return re.search(r"requests/([0-9a-f]{32})", reply.headers["Location"]).group(1)


def test_the_create_page_lists_the_outbox_and_preselects_the_only_project(env, served, hub):
    env.write_outbox("tables/counts.csv", "group,n\na,12\n")
    env.write_outbox("figures/plot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    env.write_outbox(".ipynb_checkpoints/x.csv", "hidden")
    alice = AirlockClient.served(served, hub.add_user("alice", Scope.REQUEST), pages=True)
    page, xsrf = alice.page("requests")
    assert 'id="new-request-project">proj-a<' in page.text  # one project: chosen for her
    listed = re.findall(r'name="path" value="([^"]+)"', page.text)
    assert listed == ["figures/plot.png", "tables/counts.csv"]
    assert "72 Bytes" in page.text and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", page.text)

    reply = alice.post(
        "requests",
        data={
            "project": "proj-a",
            "title": "Counts",
            "group": "Table 1",
            "context": "counts by group",
            "controls": "n >= 10",
            "path": ["tables/counts.csv", "figures/plot.png"],
            "_xsrf": xsrf,
        },
        allow_redirects=False,
    )
    assert reply.status_code == 302 and "done=create" in reply.headers["Location"]
    got = request_detail(env.ctx, analyst(), rid_of(reply))  # both files, in the named group
    assert [g["name"] for g in got["groups"]] == ["Table 1"] and got["groups"][0]["context"] == "counts by group"
    assert sorted(f["path"] for f in got["groups"][0]["files"]) == ["figures/plot.png", "tables/counts.csv"]


def test_a_person_in_several_projects_chooses_one(env, served, hub):
    env.directory.add_project("proj-b", members={"alice"})
    alice = AirlockClient.served(served, hub.add_user("alice", Scope.REQUEST), pages=True)
    page, _ = alice.page("requests")
    assert re.findall(r'<option value="([^"]+)"', page.text) == ["proj-a", "proj-b"]
    assert 'id="new-request"' not in page.text
    page, _ = alice.page("requests?project=proj-b")
    assert 'id="new-request-project">proj-b<' in page.text and 'id="outbox-empty"' in page.text


def test_a_refusal_is_shown_on_the_form_with_what_was_typed_kept(env, served, hub):
    env.write_outbox("tables/counts.csv", "group,n\na,12\n")
    alice = AirlockClient.served(served, hub.add_user("alice", Scope.REQUEST), pages=True)
    _, xsrf = alice.page("requests")
    reply = alice.post(
        "requests",
        data={
            "project": "proj-a",
            "title": "T" * 201,
            "context": "what it is",
            "path": "tables/counts.csv",
            "_xsrf": xsrf,
        },
        allow_redirects=False,
    )
    assert reply.status_code == 400
    assert re.search(r'id="form-error">&#39;title&#39; is too long', reply.text)
    assert 'value="' + "T" * 201 + '"' in reply.text and ">what it is</textarea>" in reply.text
    assert re.search(r'value="tables/counts.csv"[^>]* checked', reply.text)
    assert 'id="error-message"' not in reply.text  # not a separate error page
    assert list_requests(env.ctx, analyst(), "mine") == []  # nothing was created


def test_withdrawing_asks_first(env, served, hub):
    env.write_outbox("tables/counts.csv", "group,n\na,12\n")
    alice = AirlockClient.served(served, hub.add_user("alice", Scope.REQUEST), pages=True)
    _, xsrf = alice.page("requests")
    rid = rid_of(alice.form("requests", {"project": "proj-a", "path": "tables/counts.csv"}, xsrf))
    page, xsrf = alice.page(f"requests/{rid}")
    assert 'id="withdraw-button"' in page.text and 'id="withdraw-form"' not in page.text
    reply = alice.form(f"requests/{rid}/withdraw", {}, xsrf)  # no confirmation: asked, not done
    assert reply.status_code == 302 and reply.headers["Location"].endswith("?confirm=withdraw#confirm")
    page, xsrf = alice.page(f"requests/{rid}?confirm=withdraw")
    assert "cannot be undone" in page.text and 'id="withdraw-form"' in page.text
    assert request_detail(env.ctx, analyst(), rid)["state"] == "draft"
    assert alice.form(f"requests/{rid}/withdraw", {"confirm": "yes"}, xsrf).status_code == 302
    assert request_detail(env.ctx, analyst(), rid)["state"] == "withdrawn"


def test_reviewers_decide_file_by_file_on_the_page_and_the_analyst_sees_progress(env, served, hub):
    env.write_outbox("a.csv", "group,n\na,12\n")
    env.write_outbox("b.csv", "group,n\nb,15\n")
    alice = AirlockClient.served(served, hub.add_user("alice", Scope.REQUEST), pages=True)
    _, xsrf = alice.page("requests")
    rid = rid_of(alice.form("requests", {"project": "proj-a", "path": ["a.csv", "b.csv"]}, xsrf))
    _, xsrf = alice.page(f"requests/{rid}")
    reply = alice.form(f"requests/{rid}/submit", {}, xsrf)  # refused: the group is not described yet
    assert reply.status_code == 400 and re.search(r'id="form-error">Describe group &#39;Outputs&#39;', reply.text)
    described = {"name": "Outputs", "context": "counts by group", "controls": "n >= 10"}
    assert alice.form(f"requests/{rid}/group", described, xsrf).status_code == 302
    assert alice.form(f"requests/{rid}/submit", {}, xsrf).status_code == 302

    rita = AirlockClient.served(served, hub.add_user("rita", Scope.REVIEW), pages=True)
    page, rxsrf = rita.page(f"requests/{rid}")
    ids = re.findall(r'name="file_id" value="(\d+)"', page.text.split('id="review-progress"')[0])
    a, b = ids[0], ids[-1]
    assert len(re.findall(r'class="row g-1 align-items-center file-decision-form"', page.text)) == 2
    reply = rita.form(f"requests/{rid}/decide", {"file_id": b, "decision": "reject", "reason": ""}, rxsrf)
    assert reply.status_code == 400 and re.search(r'id="form-error">Give a reason', reply.text)
    assert re.search(r'value="reject" checked', reply.text)  # her choice is kept
    assert rita.form(f"requests/{rid}/decide", {"file_id": a, "decision": "approve"}, rxsrf).status_code == 302

    page, _ = alice.page(f"requests/{rid}")
    assert page.text.count("1 of 2 approvals") == 1 and page.text.count("0 of 2 approvals") == 1
    assert "rita" not in page.text  # who decided is not shown while the round is open
