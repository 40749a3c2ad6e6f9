"""In real Chromium: a whole JupyterLab session passes the edge's route list untouched, and is metered.

The edge lets through under a workspace only what JupyterLab asks for (enclave/edge/policy.py,
WORKSPACE_ROUTES, recorded from sessions like this one). This session logs in, starts the project from
the hub's home, opens a notebook, runs and saves it, opens a console, a terminal and the settings editor,
and reloads the page. Every response the page received is either the edge's own static file or relayed
on an allowed route; nothing was refused (the audit log holds only refusals someone attempted); and the
workspace's answers were counted against the person on the channels they belong to.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from enclave.edge.policy import decide
from enclave.operations import people, projects
from enclave.state.audit_query import AuditFilter, as_record, find_events
from enclave.state.models import EgressUsage
from tests.support.browser import log_in

PERSON, PROJECT = "lena", "lroutes"


@pytest.fixture
def person(enclave):
    projects.create_project(enclave.ctx, PROJECT)
    enclave.passwords[PERSON] = people.add_user(enclave.ctx, PERSON, ["analyst"]).initial_password
    people.add_member(enclave.ctx, PROJECT, PERSON)
    yield PERSON
    enclave.ctx.workspaces.stop(PROJECT, PERSON)


def new_launcher(page) -> None:
    page.locator("[data-command='launcher:create']").first.click()
    page.wait_for_selector(".jp-Launcher")


def dismiss_dialog(page) -> None:
    """Saving a new notebook asks for its name: keep the one offered."""
    time.sleep(1)
    if page.locator(".jp-Dialog").count():
        page.keyboard.press("Enter")
        page.wait_for_selector(".jp-Dialog", state="detached")


def test_a_jupyterlab_session_is_let_through_whole_and_metered(page, enclave, person):
    responses: list[tuple[str, str, int, str | None]] = []  # method, url, status, X-Enclave-Edge
    sockets: list[str] = []
    page.on(
        "response", lambda r: responses.append((r.request.method, r.url, r.status, r.headers.get("x-enclave-edge")))
    )
    page.on("websocket", lambda ws: sockets.append(ws.url))

    log_in(page, enclave.url, PERSON, enclave.passwords[PERSON])
    page.click(f"#start-{PROJECT}")
    page.wait_for_url(re.compile(rf".*/user/{PERSON}/{PROJECT}/lab.*"), timeout=180_000)
    page.wait_for_selector(".jp-Launcher", timeout=120_000)

    page.click(".jp-LauncherCard[data-category='Notebook']")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
    cell = page.locator(".jp-Notebook .jp-Cell .cm-content").first
    cell.click()
    cell.fill("print('routes', 6 * 7)")
    page.keyboard.press("Shift+Enter")
    page.locator(".jp-OutputArea-output", has_text="routes 42").wait_for()
    page.keyboard.press("Control+s")
    dismiss_dialog(page)

    new_launcher(page)
    page.click(".jp-LauncherCard[data-category='Console']")
    page.wait_for_selector(".jp-CodeConsole")
    new_launcher(page)
    page.click(".jp-LauncherCard[title='Start a new terminal session']")
    page.wait_for_selector(".jp-Terminal")
    page.locator(".lm-MenuBar-item", has_text="Settings").click()  # the terminal would take a shortcut
    page.locator(".lm-Menu-item", has_text="Settings Editor").click()
    page.wait_for_selector(".jp-SettingsPanel")
    page.reload()
    page.wait_for_selector(".jp-Launcher, .jp-Notebook, .jp-CodeConsole", timeout=120_000)
    time.sleep(3)  # the page's own calls after a reload (workspace, sessions, settings)

    refused = [r for r in responses if r[3] == "refused"]
    assert refused == [], refused
    workspace = f"/user/{PERSON}/{PROJECT}"
    relayed = [r for r in responses if urlsplit(r[1]).path.startswith(workspace) and r[3] != "static"]
    assert any(r[3] == "static" for r in responses)  # JupyterLab's bundle came from the edge's copy
    for method, url, status, _ in relayed:
        parts = urlsplit(url)
        assert not decide(method, parts.path, parts.query).refused, (method, url, status)
    with enclave.ctx.db.reading() as session:
        events = [as_record(e) for e in find_events(session, AuditFilter(action="edge.refused"))]
    assert [e for e in events if (e.get("details") or {}).get("user") == PERSON] == []

    assert {"kernel", "terminal", "websocket"} <= {
        decide("GET", urlsplit(url).path, websocket=True).channel for url in sockets if workspace in url
    }
    deadline = time.monotonic() + 30
    while True:
        with enclave.ctx.db.reading() as session:
            channels = {
                row.channel
                for row in session.query(EgressUsage).filter(
                    EgressUsage.user == PERSON, EgressUsage.project == PROJECT, EgressUsage.raw_bytes > 0
                )
            }
        if {"page", "contents", "other-api", "kernel"} <= channels or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {"page", "contents", "other-api", "kernel"} <= channels, channels
