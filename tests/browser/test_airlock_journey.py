"""In real Chromium, through the edge, the hub and the airlock's own pages: results written by a real
kernel into the outbox are found from JupyterLab's File menu, chosen from a list, checked, reviewed whole
(a 150-row table with its flagged cells) and decided file by file by two blinded reviewers, then downloaded
byte for byte."""

import re
from pathlib import Path

import pytest

from tests.support.browser import launch, log_in

PROJECT = "alpha"
AIRLOCK = "/services/egress-review/"
TABLE_PATH = "tables/bmi_by_region.csv"
METHODS_PATH = "methods.md"
METHODS = "# Methods\n\nMean BMI by region, age band and sex.\n\n<script>alert('x')</script>\n"
SMALL = (3, 7)  # counts below the small-counts threshold of 10


def bmi_table() -> str:
    """150 data rows (the last one the table's total), some counts small, some means missing."""
    rows = ["region,age_band,sex,n,mean_bmi"]
    for i in range(149):
        n = (3, 7, 12, 25, 40, 88, 130)[(i * 5) % 7]
        bmi = "" if i % 17 == 0 else f"{20 + (i * 37 % 120) / 10:.1f}"
        rows.append(f"R{i // 10},{20 + (i % 6) * 10}-{29 + (i % 6) * 10},{'F' if i % 2 else 'M'},{n},{bmi}")
    rows.append("Total,,,6000,26.1")
    return "\n".join(rows) + "\n"


TABLE = bmi_table()
SMALL_ROWS = [i + 1 for i, line in enumerate(TABLE.splitlines()[1:]) if int(line.split(",")[3]) in SMALL]


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
        browser = launch(p, chromium_path)
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
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True, ignore_https_errors=True
        )
        self.context.set_default_timeout(60_000)
        self.page = self.context.new_page()

    def log_in(self):
        page = self.page
        log_in(page, self.enclave.url, self.name, self.enclave.passwords[self.name], lands=r".*/hub/(home|spawn).*")

    def open_airlock_from_the_hub_home(self, link: str, landing: str):
        """The hub's home page links the airlock for each role; the airlock signs the person in through
        the hub (OAuth)."""
        page = self.page
        page.goto(f"{self.enclave.url}/hub/home")
        assert page.title().startswith("Enclave")
        entry = page.locator(link)
        entry.wait_for(state="visible")
        self.shot("hub-home")
        entry.click()
        page.wait_for_url(f"**{AIRLOCK}{landing}")
        # The airlock's pages wear the hub's stylesheet: without it the navbar is not a flex box.
        assert page.locator("nav.navbar").evaluate("nav => getComputedStyle(nav).display") == "flex"
        assert page.locator("#signed-in-as").inner_text() == self.name

    def open_airlock_from_jupyterlab(self, project: str):
        """JupyterLab's File menu has "Release results…" (images/workspace/etc/jupyter/labconfig): it opens
        the airlock in a new tab, where the person continues."""
        lab = self.page
        lab.goto(f"{self.enclave.url}/user/{self.name}/{project}/lab")
        lab.wait_for_selector(".jp-Launcher", timeout=120_000)
        lab.get_by_role("menuitem", name="File").first.click()
        entry = lab.locator(".lm-Menu-itemLabel", has_text="Release results")
        entry.wait_for(state="visible")
        self.shot("jupyterlab-file-menu")
        with self.context.expect_page() as opened:
            entry.click()
        self.page = opened.value
        self.page.wait_for_url(f"**{AIRLOCK}requests")
        assert self.page.locator("#signed-in-as").inner_text() == self.name

    def shot(self, what: str):
        self.album.take(self.page, f"{self.name}-{what}")

    def state(self) -> str:
        return self.page.locator("h1 .badge").inner_text().strip()


def test_from_the_outbox_to_a_released_download_by_file_decisions_on_a_table_reviewed_whole(
    enclave, alice_workspace, browser, tmp_path
):
    album = Album(tmp_path)
    alice_workspace.run(  # an outbox holding this story's two files only, whatever earlier tests left there
        "import os, shutil\n"
        "for name in os.listdir('/home/analyst/outbox'):\n"
        "    path = os.path.join('/home/analyst/outbox', name)\n"
        "    shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)\n"
        "os.makedirs('/home/analyst/outbox/tables', exist_ok=True)\n"
        f"open('/home/analyst/outbox/{TABLE_PATH}', 'w').write({TABLE!r})\n"
        f"open('/home/analyst/outbox/{METHODS_PATH}', 'w').write({METHODS!r})\n"
    )

    # The analyst finds the airlock in JupyterLab's File menu; the create page lists her outbox.
    alice = Person(browser, enclave, "alice", album)
    alice.log_in()
    alice.page.goto(f"{enclave.url}/hub/home")
    assert alice.page.locator("#home-release").is_visible()  # the hub's home page links it too
    alice.open_airlock_from_jupyterlab(PROJECT)
    page = alice.page
    assert page.locator("#new-request-project").inner_text() == PROJECT  # her only project, chosen
    listed = page.locator("#outbox .outbox-file")
    assert listed.count() == 2 and "UTC" in listed.first.inner_text()
    page.fill("#new-request-title", "BMI by region")
    page.fill("#new-request-group", "Table 2")
    page.fill("#new-request-context", "Mean BMI by region, age band and sex, whole cohort")
    page.fill("#new-request-controls", "Small counts left for the reviewers to judge")
    page.check(f"#outbox input[value='{TABLE_PATH}']")
    page.check(f"#outbox input[value='{METHODS_PATH}']")
    alice.shot("create")
    page.get_by_role("button", name="Create the request").click()
    _done(page, "create")
    request_url = page.url.split("?")[0]
    assert alice.state() == "draft"
    assert page.locator(".group[data-group='Table 2'] .draft-file").count() == 2
    page.get_by_role("button", name="Submit for review").click()
    _done(page, "submit")
    assert alice.state() == "submitted"
    assert page.locator(".download").count() == 0  # nothing leaves before the reviews
    # Her own staged bytes are for the reviewers: no preview for the author, only where checks found something.
    assert page.locator(".preview").count() == 0 and page.locator("#content-withheld").is_visible()
    alice.shot("submitted")

    # The first reviewer sees the whole table, every flagged cell, and decides file by file.
    rita = Person(browser, enclave, "rita", album)
    rita.log_in()
    rita.open_airlock_from_the_hub_home("#home-review", "review")
    rid = request_url.rsplit("/", 1)[1]
    row = rita.page.locator(f"#queue .request-row[data-request-id='{rid}']")
    assert "awaiting you" in row.inner_text()
    row.get_by_role("link").click()
    rita.page.wait_for_url(request_url)
    table_id = _assert_the_table_is_shown_whole(rita.page)
    _assert_markdown_is_rendered_without_its_html(rita.page)
    assert rita.page.locator("#votes-hidden").is_visible()
    rita.shot("request")
    # A refusal is shown on the file's own form, with her choice kept.
    methods = rita.page.locator(f".staged-file[data-path='{METHODS_PATH}']")
    methods.locator("input[name=decision][value=reject]").check()
    methods.get_by_role("button", name="Decide on this file").click()
    rita.page.wait_for_url(f"{request_url}/decide")
    assert "Give a reason" in rita.page.locator(f"#file-{_file_id(rita.page, METHODS_PATH)} #form-error").inner_text()
    assert rita.page.locator(f".staged-file[data-path='{METHODS_PATH}'] input[value=reject]").is_checked()
    rita.shot("refused-on-the-form")
    _decide(rita, TABLE_PATH, "approve")
    _decide(rita, METHODS_PATH, "approve")
    assert rita.state() == "submitted"  # one review of two
    assert "rita" in rita.page.locator("#votes").inner_text()

    # The analyst sees progress, not who decided what.
    page.goto(request_url)
    for path in (TABLE_PATH, METHODS_PATH):
        assert "1 of 2 approvals" in page.locator(f".staged-file[data-path='{path}'] .approvals").inner_text()
    assert "rita" not in page.locator("body").inner_text()
    alice.shot("progress")

    # The second reviewer does not see the first one's decisions before making their own.
    rex = Person(browser, enclave, "rex", album)
    rex.log_in()
    rex.open_airlock_from_the_hub_home("#home-review", "review")
    rex.page.locator(f"#queue .request-row[data-request-id='{rid}'] a").click()
    rex.page.wait_for_url(request_url)
    assert _assert_the_table_is_shown_whole(rex.page) == table_id
    assert "rita" not in rex.page.locator("body").inner_text()
    assert rex.page.locator(".approvals").first.inner_text().startswith("how others decided")
    rex.shot("request-before-deciding")
    _decide(rex, TABLE_PATH, "approve")
    assert rex.state() == "submitted"  # every file needs its approvals
    _decide(rex, METHODS_PATH, "approve")
    assert rex.state() == "released"
    assert rex.page.locator(".download").count() == 0  # reviewers do not download
    rex.shot("released")

    # The analyst downloads exactly the bytes the kernel wrote.
    page.goto(request_url)
    assert alice.state() == "released"
    assert page.locator(".file-decision").count() == 4
    alice.shot("released")
    for path, content in ((TABLE_PATH, TABLE), (METHODS_PATH, METHODS)):
        with page.expect_download() as downloading:
            page.locator(f".staged-file[data-path='{path}'] a.download").click()
        assert Path(downloading.value.path()).read_bytes() == content.encode()
    for person in (alice, rita, rex):
        person.context.close()
    print("screenshots:", *album.paths, sep="\n  ")


def _file_id(page, path) -> str:
    return page.locator(f".staged-file[data-path='{path}']").get_attribute("id").removeprefix("file-")


def _assert_the_table_is_shown_whole(page) -> str:
    """Every row; each small count highlighted and linked from its finding; a null apart from an empty
    string; the totals row marked. Returns the file's id."""
    staged = page.locator(f".staged-file[data-path='{TABLE_PATH}']")
    preview = staged.locator("table.preview")
    assert preview.locator("thead th").all_inner_texts() == ["row", "region", "age_band", "sex", "n", "mean_bmi"]
    assert preview.locator("tbody tr").count() == 150
    flagged = preview.locator("td.flagged")
    assert flagged.count() == len(SMALL_ROWS)
    assert [
        int(i.split("-r")[1].split("-")[0]) for i in flagged.evaluate_all("cells => cells.map(c => c.id)")
    ] == SMALL_ROWS
    assert preview.locator("td .null-mark").count() > 0 and preview.locator("tr.total-row").count() == 1
    links = staged.locator("a.finding-place")
    assert links.count() >= len(SMALL_ROWS)
    last = links.nth(len(SMALL_ROWS) - 1)
    target = last.get_attribute("href")
    last.click()  # the finding's link brings its cell into view
    cell = page.locator(target)
    assert page.url.endswith(target) and cell.is_visible() and "flagged" in cell.get_attribute("class")
    # scrolled into its table's box (the browser scrolls to the target after the jump; wait for it)
    page.wait_for_function(
        """id => { const cell = document.getElementById(id), box = cell.closest('.preview-table');
                   const c = cell.getBoundingClientRect(), b = box.getBoundingClientRect();
                   return c.top >= b.top && c.bottom <= b.bottom + 1 && c.top >= 0 && c.bottom <= innerHeight; }""",
        arg=target[1:],
    )
    verdicts = dict(
        zip(
            staged.locator(".check").evaluate_all("rows => rows.map(r => r.dataset.rule)"),
            staged.locator(".check td:nth-child(2)").all_inner_texts(),
        )
    )
    assert verdicts["small_counts"] == "flag" and "block" not in verdicts.values(), verdicts
    return _file_id(page, TABLE_PATH)


def _assert_markdown_is_rendered_without_its_html(page):
    shown = page.locator(f".staged-file[data-path='{METHODS_PATH}'] .preview-markdown")
    assert shown.locator("h1").inner_text() == "Methods"
    assert shown.locator("script").count() == 0 and "<script>" in shown.inner_text()


def _done(page, action):
    """The airlock goes back to the request page after each form, saying what it did."""
    page.wait_for_url(re.compile(rf"\?done={action}(#.*)?$"))
    assert page.locator("#done").is_visible()


def _decide(person, path, decision, reason=""):
    page = person.page
    form = page.locator(f".staged-file[data-path='{path}'] .file-decision-form")
    form.locator(f"input[name=decision][value={decision}]").check()
    if reason:
        form.locator("input[name=reason]").fill(reason)
    form.get_by_role("button", name="Decide on this file").click()
    _done(page, "decide")
    assert page.locator(f".staged-file[data-path='{path}'] .your-decision").is_visible()


def test_the_launcher_has_a_release_results_card_that_opens_the_airlock_for_its_project(
    enclave, alice_workspace, browser, tmp_path
):
    alice_workspace.ensure_running()  # an earlier test may have stopped it
    alice = Person(browser, enclave, "alice", Album(tmp_path))
    alice.log_in()
    lab = alice.page
    lab.goto(f"{enclave.url}/user/alice/{PROJECT}/lab")
    card = lab.locator(".jp-LauncherCard[data-category='Enclave']", has_text="Release results")
    card.wait_for(timeout=120_000)
    alice.shot("jupyterlab-launcher")
    with alice.context.expect_page() as opened:
        card.click()
    airlock = opened.value
    airlock.wait_for_url(f"**{AIRLOCK}requests?project={PROJECT}")
    assert airlock.locator("#signed-in-as").inner_text() == "alice"
    assert airlock.locator("#new-request-project").inner_text() == PROJECT  # the form is for this project


def test_stopping_a_workspace_from_the_hub_home_page_asks_first(enclave, alice_workspace, browser, tmp_path):
    alice_workspace.ensure_running()  # an earlier test may have stopped it
    alice = Person(browser, enclave, "alice", Album(tmp_path))
    alice.log_in()
    page = alice.page
    page.goto(f"{enclave.url}/hub/home")
    stops = []  # every request that would stop a workspace
    page.on("request", lambda r: stops.append(r.url) if r.method == "DELETE" and "/servers/" in r.url else None)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click(f"#stop-{PROJECT}")
    assert asked and f"Stop the workspace of project {PROJECT}?" in asked[0] and "your files stay" in asked[0]
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_request(lambda r: r.method == "DELETE" and "/servers/" in r.url):
        page.click(f"#stop-{PROJECT}")
    assert len(stops) == 1  # the first click, answered "no", sent nothing
    page.locator(f"#start-{PROJECT}").wait_for(state="visible")
