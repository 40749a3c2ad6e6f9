"""The real airlock app on loopback (real HubOAuth, a stand-in hub API, the real checks): the author of
a request receives no byte of a staged file on any page or API route, before or after withdrawal;
reviewers see previews; operators need a reason, which is audited; every response names its
recipient (and its project) for the edge; over-long fields are refused with a message."""

import base64
import re
import secrets

import pytest
import requests

from egress_review.domain.permissions import Scope
from egress_review.services.context import default_checks_runner
from harness.airlock_kit import make_env
from tests.support.airlock import AirlockClient
from tests.support.airlock_app import ServedAirlock

MARKER = "mk" + secrets.token_hex(12)
PNG = b"\x89PNG\r\n\x1a\n" + MARKER.encode() + secrets.token_bytes(64)  # a PNG signature, then anything
# The marker is in the cells and in the name of a count column, which the small-counts check quotes.
CSV = f"label,{MARKER}\n{MARKER}a,3\n{MARKER}b,4\n".encode()


@pytest.fixture
def env(tmp_path):  # the real automatic checks: their messages quote files, as real rules do
    e = make_env(tmp_path, checks=default_checks_runner)
    yield e
    e.db.dispose()


@pytest.fixture
def served(env, hub):
    s = ServedAirlock(env.airlock, hub)
    yield s
    s.stop()


class Person:
    """One person on both doors: the API with a token and the pages with the login cookie."""

    def __init__(self, served, hub, name, scope):
        token = hub.add_user(name, scope)
        self.name = name
        self.api, self.browser = AirlockClient.served(served, token), AirlockClient.served(served, token, pages=True)
        self.received: list[requests.Response] = []

    def get(self, path, **kw):
        reply = self.api.get(path, **kw)
        self.received.append(reply)
        return reply

    def page(self, path):
        reply, xsrf = self.browser.page(path)
        self.received.append(reply)
        return reply, xsrf

    def everything(self) -> bytes:
        """Every byte received so far: status lines' reasons, headers and bodies."""
        out = b""
        for r in self.received:
            out += (r.reason or "").encode() + b"\n"
            out += "".join(f"{k}: {v}\n" for k, v in r.headers.items()).encode() + r.content
        return out


@pytest.fixture
def people(served, hub):
    return {
        "alice": Person(served, hub, "alice", Scope.REQUEST),
        "rita": Person(served, hub, "rita", Scope.REVIEW),
        "olive": Person(served, hub, "olive", Scope.OPERATE),
    }


def submitted(env, alice) -> tuple[str, dict[str, int]]:
    env.write_outbox("figures/plot.png", PNG)
    env.write_outbox("tables/t.csv", CSV)
    rid = alice.api.post("api/requests", {"project": "proj-a", "title": "results"}).json()["id"]
    assert alice.api.post(f"api/requests/{rid}/groups", {"name": "g", "context": "c", "controls": "k"}).ok
    for path in ("figures/plot.png", "tables/t.csv"):
        assert alice.api.post(f"api/requests/{rid}/files", {"path": path, "group": "g"}).status_code == 201
    reply = alice.api.post(f"api/requests/{rid}/submit")
    alice.received.append(reply)
    assert reply.json()["state"] == "submitted", reply.text
    return rid, {f["path"]: f["id"] for f in reply.json()["staged_files"]}


def every_route_of_the_author(alice, rid, files) -> None:
    alice.page("requests")
    alice.page(f"requests/{rid}")
    alice.page(f"requests/{rid}?reason=I+am+the+author")
    alice.get("api/requests")
    alice.get(f"api/requests/{rid}")
    alice.get(f"api/requests/{rid}?reason=I+am+the+author")
    alice.get(f"api/requests/{rid}/manifest")
    for fid in files.values():
        for reason in ("", "?reason=mine"):
            alice.page(f"requests/{rid}/files/{fid}/image{reason}")
            alice.page(f"requests/{rid}/files/{fid}/pages/1{reason}")
        alice.page(f"requests/{rid}/files/{fid}/download")
        alice.get(f"api/requests/{rid}/files/{fid}/download")


def assert_no_byte_of_the_files(person) -> None:
    received = person.everything()
    assert MARKER.encode() not in received
    assert base64.b64encode(PNG)[:40] not in received  # not as a data: URL either
    assert base64.b64encode(CSV)[:40] not in received


def test_the_author_receives_no_byte_of_a_staged_file_before_or_after_withdrawal(env, people):
    alice = people["alice"]
    rid, files = submitted(env, alice)
    every_route_of_the_author(alice, rid, files)
    detail = alice.get(f"api/requests/{rid}").json()
    checks = {f["path"]: {c["rule"]: c for c in f["checks"]} for f in detail["staged_files"]}
    assert checks["tables/t.csv"]["small_counts"]["verdict"] == "flag"  # the author learns where, not what
    assert {f["location"] for f in checks["tables/t.csv"]["small_counts"]["findings"]} == {
        "row 1, column 2",
        "row 2, column 2",
    }
    assert checks["figures/plot.png"]["file_type"]["verdict"] == "block"
    images = [r for r in alice.received if "/image" in r.url or "/pages/" in r.url]
    assert images and all(r.status_code in (400, 403) for r in images)
    assert {r.status_code for r in images if "/pages/" in r.url and "reason" not in r.url} == {403}
    assert all(r.json()["error"] == "content_withheld" for r in images if r.status_code == 403 and "/api/" in r.url)
    assert_no_byte_of_the_files(alice)

    reply = alice.api.post(f"api/requests/{rid}/withdraw")
    alice.received.append(reply)
    assert reply.json()["state"] == "withdrawn"
    every_route_of_the_author(alice, rid, files)
    assert_no_byte_of_the_files(alice)
    page, _ = alice.page(f"requests/{rid}")
    assert 'id="content-withheld"' in page.text and not re.search(r"class=\"[^\"]*preview", page.text)


def test_a_reviewer_sees_the_previews_and_the_full_checks_while_reviewing(env, people):
    rid, files = submitted(env, people["alice"])
    rita = people["rita"]
    page, _ = rita.page(f"requests/{rid}")
    assert re.search(rf'<td id="[^"]+">{MARKER}a</td>', page.text)  # the table preview
    assert re.search(rf'src="[^"]+/files/{files["figures/plot.png"]}/image"', page.text)
    image = rita.browser.get(f"requests/{rid}/files/{files['figures/plot.png']}/image")
    assert image.status_code == 200 and image.content == PNG
    full = rita.get(f"api/requests/{rid}").json()
    assert MARKER in str(full["staged_files"])  # the small-counts check names the column, for reviewers

    assert people["alice"].api.post(f"api/requests/{rid}/withdraw").json()["state"] == "withdrawn"
    rita.received.clear()
    rita.page(f"requests/{rid}")
    rita.get(f"api/requests/{rid}")
    refused = rita.browser.get(f"requests/{rid}/files/{files['figures/plot.png']}/image")
    rita.received.append(refused)
    assert refused.status_code == 403
    assert_no_byte_of_the_files(rita)  # nobody reviews a withdrawn request: operators only


def test_an_operator_opens_content_only_with_a_reason_and_it_is_audited(env, people):
    alice, olive = people["alice"], people["olive"]
    rid, files = submitted(env, alice)
    alice.api.post(f"api/requests/{rid}/withdraw")
    page, _ = olive.page(f"requests/{rid}")
    assert 'id="open-content"' in page.text
    image_path = f"requests/{rid}/files/{files['figures/plot.png']}/image"
    refused = olive.browser.get(image_path)
    olive.received.append(refused)
    assert refused.status_code == 400 and "reason" in refused.text
    assert_no_byte_of_the_files(olive)

    page, _ = olive.page(f"requests/{rid}?reason=incident+7")
    assert re.search(rf'<td id="[^"]+">{MARKER}a</td>', page.text)
    assert re.search(r'src="[^"]+/image\?reason=incident%207"', page.text)
    image = olive.browser.get(image_path + "?reason=incident+7")
    assert image.status_code == 200 and image.content == PNG
    entries = olive.get(f"api/audit?request_id={rid}").json()["entries"]
    opened = [e for e in entries if e["event"] == "content.opened"]
    assert {(e["actor"], e["details"]["reason"], e["details"]["what"]) for e in opened} == {
        ("olive", "incident 7", "request"),
        ("olive", "incident 7", "file"),
    }
    refusals = [e["details"] for e in entries if e["event"] == "action.refused"]
    assert {"action": "open_content", "error": "reason_required"} in [
        {k: r[k] for k in ("action", "error")} for r in refusals
    ]


def test_every_response_to_a_signed_in_person_names_them_and_the_requests_project(env, people, served):
    alice, rita = people["alice"], people["rita"]
    rid, files = submitted(env, alice)
    fid = files["figures/plot.png"]
    expect_project = [
        rita.page(f"requests/{rid}")[0],
        rita.browser.get(f"requests/{rid}/files/{fid}/image"),
        rita.get(f"api/requests/{rid}"),
        rita.get(f"api/requests/{rid}/files/{fid}/download"),  # refused (403): still counted
    ]
    _, xsrf = rita.page(f"requests/{rid}")
    expect_project.append(rita.browser.form(f"requests/{rid}/comment", {"body": "looks fine"}, xsrf))  # a redirect
    for reply in expect_project:
        assert (reply.headers.get("X-Enclave-Recipient"), reply.headers.get("X-Enclave-Project")) == (
            "rita",
            "proj-a",
        ), (reply.url, reply.status_code)
    assert expect_project[-1].status_code == 302
    no_project = [
        rita.get("api/requests?view=all"),
        rita.page("review")[0],
        rita.get("api/me"),
        rita.get("api/requests/0123456789abcdef"),
        rita.page("nowhere")[0],
        rita.get("api/openapi.json"),
    ]
    for reply in no_project:
        assert reply.headers.get("X-Enclave-Recipient") == "rita" and "X-Enclave-Project" not in reply.headers, (
            reply.url
        )
    # a draft only its author sees: others get no project named for it
    draft = alice.api.post("api/requests", {"project": "proj-a"}).json()["id"]
    assert "X-Enclave-Project" not in rita.get(f"api/requests/{draft}").headers
    anonymous = AirlockClient.served(served, None).get("api/openapi.json")
    assert anonymous.status_code == 200 and "X-Enclave-Recipient" not in anonymous.headers


@pytest.mark.parametrize(
    "path, body, field, limit",
    [
        ("api/requests", {"project": "proj-a", "title": "t" * 201}, "title", 200),
        ("api/requests/{rid}/groups", {"name": "g", "context": "c" * 4001}, "context", 4000),
        ("api/requests/{rid}/groups", {"name": "g", "controls": "c" * 4001}, "controls", 4000),
        ("api/requests/{rid}/groups", {"name": "g" * 101}, "group name", 100),
        ("api/requests/{rid}/files", {"path": "a/" * 100 + "x.csv", "group": "g"}, "path", 200),
        ("api/requests/{rid}/files", {"path": "x.csv", "group": "g", "comment": "c" * 2001}, "comment", 2000),
    ],
)
def test_overlong_fields_are_refused_by_the_api_with_the_field_and_its_limit(env, people, path, body, field, limit):
    alice = people["alice"]
    env.write_outbox("x.csv", "a,b\n")
    rid = alice.api.post("api/requests", {"project": "proj-a"}).json()["id"]
    before = alice.api.get(f"api/requests/{rid}").json()
    reply = alice.api.post(path.format(rid=rid), body)
    assert reply.status_code == 400 and reply.json()["error"] == "text_too_long"
    assert f"'{field}'" in reply.json()["message"] and f"limit is {limit:,}" in reply.json()["message"]
    after = alice.api.get(f"api/requests/{rid}").json()
    assert after["groups"] == before["groups"] and len(alice.api.get("api/requests").json()["requests"]) == 1


def test_overlong_form_fields_are_refused_on_a_page_that_says_so(env, people):
    alice = people["alice"]
    rid = alice.api.post("api/requests", {"project": "proj-a"}).json()["id"]
    _, xsrf = alice.page(f"requests/{rid}")
    reply = alice.browser.form(f"requests/{rid}/group", {"name": "g", "context": "c" * 4001, "controls": "k"}, xsrf)
    assert reply.status_code == 400
    # the refusal is on the form, and what was typed is kept there
    assert re.search(
        r"id=\"form-error\">&#39;context&#39; is too long: 4,001 characters, and the limit is 4,000", reply.text
    ), reply.text
    assert re.search(r'id="new-group-context"[^>]*>c{4001}</textarea>', reply.text)
    assert alice.api.get(f"api/requests/{rid}").json()["groups"] == []
    page, _ = alice.page(f"requests/{rid}")
    assert 'maxlength="4000"' in page.text and 'maxlength="100"' in page.text
