"""In real Chromium, through the hub's proxy and the airlock's own pages: a result written in a real
workspace is requested, checked, approved by two blinded reviewers, and downloaded byte for byte."""

import re
from pathlib import Path

import pytest

from tests.browser.test_analyst_journey import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

PROJECT = "alpha"
OUTBOX_PATH = "tables/counts_by_age_band.csv"
AGGREGATE = "age_band,n\n40-49,412\n50-59,705\n60-69,883\n"
AIRLOCK = "/services/egress-review/"


@pytest.fixture
def alice_workspace(enclave, request):
    """alice's alpha workspace (the shared `alice_alpha`); stopped afterwards only if this test started
    it, so the next test finds the hub's home page as it was."""
    was_running = enclave.login("alice").server(PROJECT) is not None
    workspace = request.getfixturevalue("alice_alpha")
    yield workspace
    if not was_running:
        workspace.stop()


@pytest.fixture
def browser(chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        # A test that fails leaves its people's pages open: keep what each of them last saw.
        for number, context in enumerate(browser.contexts):
            for page in context.pages:
                page.screenshot(path=str(tmp_path / f"last-{number}.png"), full_page=True)
        browser.close()


class Album:
    """Full-page screenshots of the key pages, numbered in the order taken, in the test's tmp_path."""

    def __init__(self, folder: Path):
        self.folder, self.paths = folder, []

    def take(self, page, label: str) -> None:
        self.paths.append(self.folder / f"{len(self.paths):02d}-{label}.png")
        page.screenshot(path=str(self.paths[-1]), full_page=True)


class Person:
    """One person in their own browser context (own cookies)."""

    def __init__(self, browser, enclave, name: str, album: Album):
        self.enclave, self.name, self.album = enclave, name, album
        # The edge's self-signed certificate: trusted for this context only (tests/browser/test_csp.py says why).
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                           ignore_https_errors=True)
        self.context.set_default_timeout(60_000)
        self.page = self.context.new_page()

    def log_in(self):
        page = self.page
        page.goto(f"{self.enclave.url}/hub/login")
        page.fill("input[name=username]", self.name)
        page.fill("input[name=password]", self.enclave.passwords[self.name])
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url(re.compile(r".*/hub/(home|spawn).*"))

    def open_airlock_from_the_hub_menu(self, landing: str):
        """Hub home → Services → egress-review; the airlock signs the person in through the hub (OAuth)."""
        page = self.page
        page.goto(f"{self.enclave.url}/hub/home")
        page.get_by_role("button", name="Services").click()
        entry = page.get_by_role("link", name="egress-review")
        entry.wait_for(state="visible")
        self.shot("hub-services-menu")
        entry.click()
        page.wait_for_url(f"**{AIRLOCK}{landing}")
        # The airlock's pages wear the hub's stylesheet: without it the navbar is not a flex box.
        assert page.locator("nav.navbar").evaluate("nav => getComputedStyle(nav).display") == "flex"
        assert page.locator("#signed-in-as").inner_text() == self.name

    def shot(self, what: str):
        self.album.take(self.page, f"{self.name}-{what}")

    def state(self) -> str:
        return self.page.locator("h1 .badge").inner_text().strip()


def test_analyst_submits_two_blinded_reviewers_approve_analyst_downloads_the_same_bytes(
        enclave, alice_workspace, browser, tmp_path):
    album = Album(tmp_path)
    alice_workspace.run(
        "import os\n"
        "os.makedirs('/home/analyst/outbox/tables', exist_ok=True)\n"
        f"open('/home/analyst/outbox/{OUTBOX_PATH}', 'w').write({AGGREGATE!r})\n"
    )

    # The analyst asks for the file to be released.
    alice = Person(browser, enclave, "alice", album)
    alice.log_in()
    alice.open_airlock_from_the_hub_menu("requests")
    page = alice.page
    # A project she is not a member of is refused, on a page that says what to do.
    page.fill("#new-request input[name=project]", "beta")
    page.get_by_role("button", name="New request").click()
    assert "not an active member of project 'beta'" in page.locator("#error-message").inner_text()
    alice.shot("refused")
    page.click("#airlock-home")
    page.wait_for_url(f"**{AIRLOCK}requests")
    page.fill("#new-request input[name=project]", PROJECT)
    page.fill("#new-request input[name=title]", "Counts by age band")
    alice.shot("requests")
    page.get_by_role("button", name="New request").click()
    page.wait_for_url(re.compile(rf".*{AIRLOCK}requests/[^/?]+$"))
    request_url = page.url
    assert alice.state() == "draft"

    page.fill("#new-group input[name=name]", "Table 1")
    page.fill("#new-group textarea[name=context]", "Participants by age band at recruitment, whole cohort")
    page.fill("#new-group textarea[name=controls]", "No cell below 10; no suppression needed")
    page.get_by_role("button", name="Add group").click()
    _done(page, "group")
    page.fill("#add-file input[name=path]", OUTBOX_PATH)
    page.fill("#add-file input[name=group]", "Table 1")
    page.fill("#add-file input[name=comment]", "Table 1 of the paper")
    page.locator("#add-file").get_by_role("button", name="Add").click()
    _done(page, "add-file")
    assert page.locator(".group[data-group='Table 1'] .draft-file").inner_text().startswith(OUTBOX_PATH)
    alice.shot("draft")
    page.get_by_role("button", name="Submit for review").click()
    _done(page, "submit")
    assert alice.state() == "submitted"
    staged = page.locator(f".staged-file[data-path='{OUTBOX_PATH}']")
    assert staged.locator(".check[data-rule='file_type'] .verdict-pass").count() == 1
    assert page.locator(".download").count() == 0  # nothing leaves before the reviews
    # Her own staged bytes are for the reviewers: no preview for the author, only where checks found something.
    assert page.locator(".preview").count() == 0 and page.locator("#content-withheld").is_visible()
    alice.shot("submitted")

    # The first reviewer: the request is in the queue, with a table preview and the check results.
    rita = Person(browser, enclave, "rita", album)
    rita.log_in()
    rita.open_airlock_from_the_hub_menu("review")
    rid = request_url.rsplit("/", 1)[1]
    row = rita.page.locator(f"#queue .request-row[data-request-id='{rid}']")
    assert "awaiting you" in row.inner_text()
    rita.shot("queue")
    row.get_by_role("link").click()
    rita.page.wait_for_url(request_url)
    _assert_review_page_shows_the_file(rita.page)
    assert rita.page.locator("#votes-hidden").is_visible()
    rita.shot("request")
    _approve(rita)
    assert rita.state() == "submitted"  # one approval of two
    assert "rita" in rita.page.locator("#votes").inner_text()

    # The second reviewer does not see the first one's vote before casting their own.
    rex = Person(browser, enclave, "rex", album)
    rex.log_in()
    rex.open_airlock_from_the_hub_menu("review")
    rex.page.locator(f"#queue .request-row[data-request-id='{rid}'] a").click()
    rex.page.wait_for_url(request_url)
    _assert_review_page_shows_the_file(rex.page)
    assert rex.page.locator("#votes-hidden").is_visible()
    assert rex.page.locator("#votes .vote").count() == 0
    assert "rita" not in rex.page.locator("body").inner_text()
    rex.shot("request-before-voting")
    _approve(rex)
    assert rex.state() == "released"
    assert rex.page.locator(".download").count() == 0  # reviewers do not download
    rex.shot("released")

    # The analyst downloads exactly the bytes written in the workspace.
    page.goto(request_url)
    assert alice.state() == "released"
    assert page.locator("#votes .vote").count() == 2
    alice.shot("released")
    with page.expect_download() as downloading:
        staged.locator("a.download").click()
    download = downloading.value
    assert download.suggested_filename == "counts_by_age_band.csv"
    assert Path(download.path()).read_bytes() == AGGREGATE.encode()
    for person in (alice, rita, rex):
        person.context.close()
    print("screenshots:", *album.paths, sep="\n  ")


def _assert_review_page_shows_the_file(page):
    staged = page.locator(f".staged-file[data-path='{OUTBOX_PATH}']")
    preview = staged.locator("table.preview")
    assert preview.locator("thead th").all_inner_texts() == ["age_band", "n"]
    assert preview.locator("tbody tr").first.locator("td").all_inner_texts() == ["40-49", "412"]
    verdicts = dict(zip(staged.locator(".check").evaluate_all("rows => rows.map(r => r.dataset.rule)"),
                        staged.locator(".check td:nth-child(2)").all_inner_texts()))
    assert {"file_type", "size_limits", "participant_identifiers", "small_counts"} <= set(verdicts)
    assert set(verdicts.values()) == {"pass"}, verdicts


def _done(page, action):
    """The airlock redirects back to the request page after each form, saying what it did."""
    page.wait_for_url(re.compile(rf"\?done={action}$"))
    assert page.locator("#done").is_visible()


def _approve(person):
    page = person.page
    page.check("#vote-form input[name=decision][value=approve]")
    page.get_by_role("button", name="Cast vote").click()
    _done(page, "vote")
