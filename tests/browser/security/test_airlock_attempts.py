"""Abusing the airlock, the one door out, from real logged-in browser sessions.

Each person logs in through the hub's login page in real Chromium and opens the airlock through the
hub (OAuth), as in tests/browser/test_airlock_journey.py. Each attempt is then made from that page with
`fetch()` against the airlock's API, carrying the session's cookies and its XSRF token, which is what
anyone with the browser's developer tools can do. Files are written in alice's real workspace.
Every refusal names its reason (the airlock's error code) and is found in the audit log.
"""

from __future__ import annotations

import base64
import re
import secrets
from urllib.parse import quote

import pytest

from tests.support.audit_log import assert_audited
from tests.support.browser import launch, log_in

PROJECT = "alpha"
OUTBOX = "/home/analyst/outbox"
AGGREGATE = "sex,n\nFemale,1043\nMale,957\n"
AIRLOCK = "/services/egress-review"

FETCH = """async ([method, url, xsrf, body]) => {
    const init = {method, credentials: 'same-origin', headers: {'X-XSRFToken': xsrf}};
    if (body !== null) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
    const reply = await fetch(url, init);
    const bytes = Array.from(new Uint8Array(await reply.arrayBuffer()));
    return {status: reply.status, bytes, sha256: reply.headers.get('X-Content-SHA256'),
            headers: Array.from(reply.headers.entries())};
}"""


class Reply:
    def __init__(self, raw: dict):
        self.status = raw["status"]
        self.content = bytes(raw["bytes"])
        self.sha256 = raw["sha256"]
        self.headers = dict(raw["headers"])

    def everything(self) -> bytes:
        """What the browser received: headers and body."""
        return "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode() + self.content

    def json(self) -> dict:
        import json

        return json.loads(self.content)

    @property
    def error(self) -> str | None:
        try:
            return self.json().get("error")
        except ValueError:
            return None


class AirlockSession:
    """One person's own browser context, logged in through the hub, on the airlock's pages."""

    def __init__(self, browser, enclave, name: str):
        self.name, self.enclave = name, enclave
        self.context = browser.new_context(ignore_https_errors=True)
        self.context.set_default_timeout(60_000)
        self.page = self.context.new_page()
        page = self.page
        log_in(page, enclave.url, name, enclave.passwords[name], lands=r".*/hub/(home|spawn).*")
        page.goto(f"{enclave.url}{AIRLOCK}/")  # the hub signs the person in to the airlock (OAuth)
        page.wait_for_url(re.compile(rf".*{AIRLOCK}/(requests|review).*"))
        assert page.locator("#signed-in-as").inner_text() == name
        (self.xsrf,) = [
            c["value"] for c in self.context.cookies() if c["name"] == "_xsrf" and c["path"].rstrip("/") == AIRLOCK
        ]

    def call(self, method: str, path: str, body: dict | None = None) -> Reply:
        return self.fetch(method, f"/api{path}", body)

    def fetch(self, method: str, path: str, body: dict | None = None) -> Reply:
        """Any of the airlock's addresses (pages too), from the person's page, with their cookies."""
        url = f"{self.enclave.url}{AIRLOCK}{path}"
        return Reply(self.page.evaluate(FETCH, [method, url, self.xsrf, body]))

    def ok(self, method: str, path: str, body: dict | None = None) -> dict:
        reply = self.call(method, path, body)
        assert reply.status in (200, 201), (reply.status, reply.content[:500])
        return reply.json()


@pytest.fixture(scope="module")
def people(enclave, chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p, chromium_path)
        sessions: dict[str, AirlockSession] = {}

        def person(name: str) -> AirlockSession:
            if name not in sessions:
                sessions[name] = AirlockSession(browser, enclave, name)
            return sessions[name]

        yield person
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def drafts_withdrawn(people):
    """Withdraw the requests this module leaves open: a person may have only so many open requests."""
    yield
    alice = people("alice")
    for rid in _DRAFTS:
        if "withdraw" in alice.ok("GET", f"/requests/{rid}")["allowed_actions"]:
            alice.ok("POST", f"/requests/{rid}/withdraw")


_DRAFTS: list[str] = []


def draft(alice: AirlockSession, title: str) -> str:
    request = alice.ok("POST", "/requests", {"project": PROJECT, "title": title})
    _DRAFTS.append(request["id"])
    alice.ok(
        "POST",
        f"/requests/{request['id']}/groups",
        {"name": "tables", "context": "results", "controls": "all cells >= 10"},
    )
    return request["id"]


def submit_file(alice: AirlockSession, path: str, title: str) -> tuple[str, dict]:
    """A request holding one outbox file, submitted: (request id, its staged file)."""
    rid = draft(alice, title)
    alice.ok("POST", f"/requests/{rid}/files", {"path": path, "group": "tables"})
    (staged,) = alice.ok("POST", f"/requests/{rid}/submit")["staged_files"]
    return rid, staged


def assert_blocked_by(enclave, alice, rid: str, staged: dict, rule: str) -> None:
    """The file is staged but blocked by `rule`, the submission's audit entry says so, and it cannot leave."""
    verdicts = {c["rule"]: c["verdict"] for c in staged["checks"]}
    assert staged["blocked"] and verdicts[rule] == "block", verdicts
    assert_audited(
        enclave,
        "request.submitted",
        request_id=rid,
        files=lambda files: any(f["path"] == staged["path"] and f["verdicts"].get(rule) == "block" for f in files),
    )
    download = alice.call("GET", f"/requests/{rid}/files/{staged['id']}/download")
    assert download.status == 409 and download.error == "not_released"


@pytest.fixture
def outbox(alice_alpha):
    """Write into alice's outbox from her kernel."""

    def write(code: str) -> None:
        alice_alpha.run(f"import os, shutil\nos.chdir({OUTBOX!r})\n{code}")

    return write


def test_a_symlink_in_the_outbox_is_refused(enclave, people, outbox):
    """RT-50: submit a symlink in the outbox that points at the cohort data."""
    outbox("os.path.lexists('linked.csv') or os.symlink('/data/cohort/v1/participants.parquet', 'linked.csv')")
    alice = people("alice")
    rid = draft(alice, "a link")
    reply = alice.call("POST", f"/requests/{rid}/files", {"path": "linked.csv", "group": "tables"})
    assert reply.status == 422 and reply.error == "symlink_refused"
    assert_audited(enclave, "action.refused", actor="alice", action="add_file", error="symlink_refused")


@pytest.mark.parametrize(
    "path",
    [
        "../homes/alice/notes.csv",
        "../../../data/cohort/v1/participants.parquet",
        "/etc/passwd",
        "tables/../../shared/x.csv",
    ],
)
def test_a_path_outside_the_outbox_is_refused(enclave, people, path):
    """RT-51: submit a path that leads outside the outbox (parent folders, an absolute path)."""
    alice = people("alice")
    rid = draft(alice, "outside")
    reply = alice.call("POST", f"/requests/{rid}/files", {"path": path, "group": "tables"})
    assert reply.status in (400, 422) and reply.error in ("path_escapes_outbox", "invalid_input"), reply.content
    assert_audited(enclave, "action.refused", actor="alice", action="add_file", error=reply.error)
    assert [f for g in alice.ok("GET", f"/requests/{rid}")["groups"] for f in g["files"]] == []


def test_an_executable_disguised_as_a_table_is_blocked(enclave, people, outbox):
    """RT-52: submit a program (an ELF binary) named results.csv."""
    outbox("shutil.copyfile(os.path.realpath('/bin/ls'), 'results.csv')")
    alice = people("alice")
    rid, staged = submit_file(alice, "results.csv", "an executable")
    assert_blocked_by(enclave, alice, rid, staged, "file_type")


def test_an_archive_is_blocked(enclave, people, outbox):
    """RT-53: submit a zip archive holding the cohort table."""
    outbox(
        "import zipfile\n"
        "with zipfile.ZipFile('bundle.zip', 'w') as z: z.write('/data/cohort/v1/participants.parquet', 'p.parquet')"
    )
    alice = people("alice")
    rid, staged = submit_file(alice, "bundle.zip", "an archive")
    assert_blocked_by(enclave, alice, rid, staged, "file_type")


def test_a_table_of_participant_pseudonyms_is_blocked_and_cannot_be_approved(enclave, people, outbox):
    """RT-54: submit a table holding participant identifiers (the project's pseudonyms, as the analyst sees them)."""
    outbox(
        "import polars as pl\n"
        "ids = pl.read_parquet('/data/cohort/v1/participants.parquet')['participant_id'].head(20)\n"
        "pl.DataFrame({'participant_id': ids, 'n': [12] * 20}).write_csv('ids.csv')"
    )
    alice = people("alice")
    rid, staged = submit_file(alice, "ids.csv", "identifiers")
    assert_blocked_by(enclave, alice, rid, staged, "participant_identifiers")
    rita = people("rita")
    vote = rita.call("POST", f"/requests/{rid}/votes", {"decision": "approve"})
    assert vote.status == 409 and vote.error == "file_blocked"
    assert_audited(enclave, "action.refused", actor="rita", action="vote", error="file_blocked")


def test_a_table_of_raw_rows_is_blocked(enclave, people, outbox):
    """RT-55: submit 30 raw rows of the cohort's baseline table, without the identifier column."""
    outbox(
        "import polars as pl\n"
        "pl.read_parquet('/data/cohort/v1/baseline.parquet').drop('participant_id').head(30).write_csv('rows.csv')"
    )
    alice = people("alice")
    rid, staged = submit_file(alice, "rows.csv", "raw rows")
    assert_blocked_by(enclave, alice, rid, staged, "row_level_data")


@pytest.fixture(scope="module")
def submitted(people, alice_alpha):
    """An aggregate table, submitted and passing every check, awaiting review."""
    alice_alpha.run(f"open('{OUTBOX}/by_sex.csv', 'w').write({AGGREGATE!r})")
    rid, staged = submit_file(people("alice"), "by_sex.csv", "counts by sex")
    assert not staged["blocked"]
    return rid, staged


def test_an_analyst_cannot_approve_their_own_request(enclave, people, submitted):
    """RT-56: alice votes to approve her own request."""
    rid, _ = submitted
    reply = people("alice").call("POST", f"/requests/{rid}/votes", {"decision": "approve"})
    assert reply.status == 403 and reply.error in ("own_request_review", "missing_scope"), reply.content
    assert_audited(enclave, "action.refused", actor="alice", action="vote", request_id=rid)


def test_a_reviewer_cannot_vote_twice(enclave, people, submitted):
    """RT-57: rita approves the same request twice, to make up the two approvals alone."""
    rid, _ = submitted
    rita = people("rita")
    rita.ok("POST", f"/requests/{rid}/votes", {"decision": "approve"})
    again = rita.call("POST", f"/requests/{rid}/votes", {"decision": "approve"})
    assert again.status == 409 and again.error == "already_voted"
    assert rita.ok("GET", f"/requests/{rid}")["state"] == "submitted"  # still one approval of two
    assert_audited(enclave, "action.refused", actor="rita", action="vote", request_id=rid, error="already_voted")


def test_an_unapproved_file_cannot_be_downloaded(enclave, people, submitted):
    """RT-58: alice downloads her submitted file before two reviewers have approved it."""
    rid, staged = submitted
    reply = people("alice").call("GET", f"/requests/{rid}/files/{staged['id']}/download")
    assert reply.status == 409 and reply.error == "not_released"
    assert AGGREGATE.encode() not in reply.content
    entry = assert_audited(
        enclave, "action.refused", actor="alice", action="download", request_id=rid, error="not_released"
    )
    assert "seq" in entry and entry["action"] == "egress.action.refused"  # in the ONE log, forwarded at once


@pytest.fixture(scope="module")
def released_after_change(people, alice_alpha):
    """A request submitted, its outbox file then CHANGED by the analyst, then approved by two reviewers."""
    alice_alpha.run(f"open('{OUTBOX}/by_age.csv', 'w').write({AGGREGATE!r})")
    alice = people("alice")
    rid, staged = submit_file(alice, "by_age.csv", "counts by age")
    alice_alpha.run(f"open('{OUTBOX}/by_age.csv', 'w').write('participant_id,n\\n1234567890123456,1\\n')")
    people("rita").ok("POST", f"/requests/{rid}/votes", {"decision": "approve"})
    assert people("rex").ok("POST", f"/requests/{rid}/votes", {"decision": "approve"})["state"] == "released"
    return rid, staged


def test_changing_a_staged_file_after_submission_changes_nothing_that_leaves(people, released_after_change):
    """RT-59: change a file in the outbox after submitting it, hoping the changed bytes are released."""
    rid, staged = released_after_change
    detail = people("alice").ok("GET", f"/requests/{rid}")
    (reviewed,) = detail["staged_files"]
    assert reviewed["sha256"] == staged["sha256"]  # what the reviewers saw is the staged copy
    download = people("alice").call("GET", f"/requests/{rid}/files/{staged['id']}/download")
    assert download.status == 200
    assert download.content == AGGREGATE.encode()  # the bytes reviewed, not the outbox's new ones
    assert download.sha256 == staged["sha256"]


def test_another_analysts_release_cannot_be_downloaded(enclave, people, released_after_change):
    """RT-60: carol, alice's colleague in the same project, downloads alice's released file."""
    rid, staged = released_after_change
    reply = people("carol").call("GET", f"/requests/{rid}/files/{staged['id']}/download")
    assert reply.status in (403, 404) and reply.error in ("not_author", "request_not_found"), reply.content
    assert AGGREGATE.encode() not in reply.content
    assert_audited(enclave, "action.refused", actor="carol", action="download")


@pytest.mark.parametrize("name, project", [("bob", PROJECT), ("rita", PROJECT)], ids=["other-project", "reviewer"])
def test_a_release_for_a_project_one_is_not_an_analyst_of_is_refused(enclave, people, name, project):
    """RT-61: ask for a release from a project one is not an analyst of (bob is in beta; rita reviews)."""
    reply = people(name).call("POST", "/requests", {"project": project, "title": "not mine"})
    assert reply.status == 403 and reply.error in ("not_project_member", "missing_scope"), reply.content
    assert_audited(enclave, "action.refused", actor=name, action="create_request", error=reply.error)


class StagedMarker:
    """Two files staged in a submitted request of alice's: a 'PNG' (the signature, then anything) and a
    table whose cells and count column's name hold a random marker."""

    def __init__(self, people, outbox):
        self.marker = "mk" + secrets.token_hex(12)
        self.png = b"\x89PNG\r\n\x1a\n" + self.marker.encode()
        self.csv = f"label,{self.marker}\n{self.marker}a,3\n{self.marker}b,4\n"
        outbox(
            f"open('marked.png', 'wb').write({self.png!r} + os.urandom(64))\n"
            f"open('marked.csv', 'w').write({self.csv!r})"
        )
        alice = people("alice")
        self.rid = draft(alice, "read back")
        for path in ("marked.png", "marked.csv"):
            alice.ok("POST", f"/requests/{self.rid}/files", {"path": path, "group": "tables"})
        staged = alice.ok("POST", f"/requests/{self.rid}/submit")["staged_files"]
        self.files = {f["path"]: f["id"] for f in staged}

    def author_routes(self) -> list[str]:
        rid = self.rid
        routes = [
            "/requests",
            f"/requests/{rid}",
            f"/requests/{rid}?reason=mine",
            "/api/requests",
            f"/api/requests/{rid}",
            f"/api/requests/{rid}?reason=mine",
            f"/api/requests/{rid}/manifest",
        ]
        for fid in self.files.values():
            routes += [
                f"/requests/{rid}/files/{fid}/image",
                f"/requests/{rid}/files/{fid}/image?reason=mine",
                f"/requests/{rid}/files/{fid}/download",
                f"/api/requests/{rid}/files/{fid}/download",
            ]
        return routes

    def assert_nothing_of_it_in(self, received: bytes) -> None:
        assert self.marker.encode() not in received
        assert base64.b64encode(self.png)[:16] not in received  # nor as a data: URL

    def assert_author_receives_nothing(self, alice: AirlockSession) -> None:
        replies = {route: alice.fetch("GET", route) for route in self.author_routes()}
        for route, reply in replies.items():
            self.assert_nothing_of_it_in(reply.everything())
            if "/image" in route:
                assert reply.status == 403, (route, reply.status)
        alice.page.goto(f"{alice.enclave.url}{AIRLOCK}/requests/{self.rid}")  # the page as Chromium renders it
        self.assert_nothing_of_it_in(alice.page.content().encode())
        assert alice.page.locator("#content-withheld").is_visible()


@pytest.fixture
def staged_marker(people, outbox):
    return StagedMarker(people, outbox)


def test_an_author_receives_no_byte_of_her_staged_files_before_or_after_withdrawing(people, staged_marker):
    """RT-62: alice stages a 'PNG' and a table holding a random marker, then reads them back through every
    page and API route of the airlock (previews, the request's JSON, the manifest, downloads), before and
    after withdrawing the request; a reviewer sees the previews while reviewing, not after the withdrawal."""
    alice, rita, staged = people("alice"), people("rita"), staged_marker
    staged.assert_author_receives_nothing(alice)
    checks = {
        f["path"]: {c["rule"]: c for c in f["checks"]}
        for f in alice.ok("GET", f"/requests/{staged.rid}")["staged_files"]
    }
    assert checks["marked.csv"]["small_counts"]["verdict"] == "flag"  # where the checks found something...
    assert checks["marked.csv"]["small_counts"]["findings"][0]["location"] == "row 1, column 2"  # ...not what

    page = rita.fetch("GET", f"/requests/{staged.rid}")
    assert page.status == 200 and re.search(
        f'<td id="[^"]+">{staged.marker}a</td>'.encode(), page.content
    )  # the table preview
    image = rita.fetch("GET", f"/requests/{staged.rid}/files/{staged.files['marked.png']}/image")
    assert image.status == 200 and image.content.startswith(staged.png)

    assert alice.ok("POST", f"/requests/{staged.rid}/withdraw")["state"] == "withdrawn"
    staged.assert_author_receives_nothing(alice)
    for route in (f"/requests/{staged.rid}", f"/requests/{staged.rid}/files/{staged.files['marked.png']}/image"):
        staged.assert_nothing_of_it_in(rita.fetch("GET", route).everything())


def test_an_operator_opens_a_withdrawn_requests_content_only_with_a_reason_which_is_audited(
    enclave, people, staged_marker
):
    """RT-63: an operator opens the content of alice's withdrawn request without giving a reason."""
    staged, oscar = staged_marker, people("oscar")
    people("alice").ok("POST", f"/requests/{staged.rid}/withdraw")
    image = f"/requests/{staged.rid}/files/{staged.files['marked.png']}/image"
    refused = oscar.fetch("GET", image)
    assert refused.status == 400 and b"reason" in refused.content
    staged.assert_nothing_of_it_in(oscar.fetch("GET", f"/requests/{staged.rid}").everything())
    assert_audited(enclave, "action.refused", actor="oscar", action="open_content", error="reason_required")

    reason = f"incident {secrets.token_hex(4)}: what did alice stage?"
    page = oscar.fetch("GET", f"/requests/{staged.rid}?reason={quote(reason)}")
    assert re.search(f'<td id="[^"]+">{staged.marker}a</td>'.encode(), page.content)
    assert oscar.fetch("GET", f"{image}?reason={quote(reason)}").content.startswith(staged.png)
    assert_audited(enclave, "content.opened", actor="oscar", request_id=staged.rid, reason=reason, what="request")
    assert_audited(enclave, "content.opened", actor="oscar", request_id=staged.rid, reason=reason, what="file")


@pytest.mark.parametrize(
    "field, body, limit",
    [
        ("title", {"title": "t" * 201}, 200),
        ("context", {"context": "c" * 4001}, 4000),
        ("comment", {"comment": "n" * 2001}, 2000),
    ],
)
def test_overlong_airlock_fields_are_refused_with_their_limit(enclave, people, field, body, limit):
    """RT-64: alice stores megabytes in the airlock's free-text fields (title, group context, a file's note)."""
    alice = people("alice")
    if field == "title":
        reply = alice.call("POST", "/requests", {"project": PROJECT, **body})
    else:
        rid = draft(alice, "long text")
        path = "groups" if field == "context" else "files"
        reply = alice.call(
            "POST", f"/requests/{rid}/{path}", {"name": "tables", "group": "tables", "path": "by_sex.csv", **body}
        )
    assert reply.status == 400 and reply.error == "text_too_long", reply.content
    assert f"'{field}' is too long" in reply.json()["message"] and f"limit is {limit:,}" in reply.json()["message"]
    assert_audited(
        enclave, "action.refused", actor="alice", error="text_too_long", message=lambda m: f"limit is {limit:,}" in m
    )


def test_an_overlong_title_typed_into_the_form_is_refused_on_a_page_that_says_so(enclave, people):
    """RT-65: alice removes the form's maxlength in the browser and submits a 5,000-character title."""
    alice = people("alice")
    page = alice.page
    before = len(alice.ok("GET", "/requests")["requests"])
    # Named in the address: other tests may have made her a member of more projects (then the page asks).
    page.goto(f"{enclave.url}{AIRLOCK}/requests?project={PROJECT}")
    assert page.locator("#new-request input[name=project]").input_value() == PROJECT
    page.locator("#new-request input[name=title]").evaluate("input => input.removeAttribute('maxlength')")
    page.fill("#new-request input[name=title]", "x" * 5000)
    page.get_by_role("button", name="Create the request").click()
    # refused on the form itself, with what she typed kept, and nothing created
    assert "'title' is too long: 5,000 characters, and the limit is 200" in page.locator("#form-error").inner_text()
    assert page.locator("#new-request input[name=title]").input_value() == "x" * 5000
    assert len(alice.ok("GET", "/requests")["requests"]) == before
