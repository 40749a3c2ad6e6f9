"""In real Chromium: JupyterLab's own Upload button, through the edge. A small script arrives and is audited
with its SHA-256; a 5 MiB file (which JupyterLab sends in 1 MiB chunks) is refused with the edge's message,
which says how data enters the enclave, and nothing of it is written (enclave/edge/uploads.py)."""

from __future__ import annotations

import hashlib
import os
import re

import pytest
import requests

from enclave.operations import people, projects
from enclave.state.audit_query import AuditFilter, as_record, find_events
from tests.support.browser import log_in

PERSON, PROJECT = "uma", "uploads"
MIB = 1024 * 1024


@pytest.fixture
def person(enclave):
    projects.create_project(enclave.ctx, PROJECT)
    enclave.passwords[PERSON] = people.add_user(enclave.ctx, PERSON, ["analyst"]).initial_password
    people.add_member(enclave.ctx, PROJECT, PERSON)
    yield PERSON
    enclave.ctx.workspaces.stop(PROJECT, PERSON)


def upload(page, path) -> None:
    """Click the file browser's Upload button and choose `path`, as a person would."""
    with page.expect_file_chooser() as chooser:
        page.locator("[data-jp-item-name='uploader'] button, button[title='Upload Files']").first.click()
    chooser.value.set_files(str(path))


def events(enclave, action: str, **match) -> list[dict]:
    with enclave.ctx.db.reading() as session:
        records = [as_record(e) for e in find_events(session, AuditFilter(action=action))]
    return [r for r in records if all(r["details"].get(k) == v for k, v in match.items())]


def test_jupyterlab_uploads_a_small_script_and_refuses_a_large_file_saying_how_data_enters(
    page, enclave, person, tmp_path
):
    script = tmp_path / "helper.py"
    script.write_bytes(b"def helper():\n    return 42\n")
    large = tmp_path / "cohort_copy.bin"
    large.write_bytes(os.urandom(5 * MIB))

    log_in(page, enclave.url, PERSON, enclave.passwords[PERSON])
    page.click(f"#start-{PROJECT}")
    page.wait_for_url(re.compile(rf".*/user/{PERSON}/{PROJECT}/lab.*"), timeout=180_000)
    page.wait_for_selector(".jp-DirListing", timeout=120_000)

    upload(page, script)
    page.locator(".jp-DirListing-item", has_text="helper.py").wait_for()
    (uploaded,) = events(enclave, "edge.upload", path="helper.py", user=PERSON)
    assert uploaded["details"]["sha256"] == hashlib.sha256(script.read_bytes()).hexdigest()

    upload(page, large)
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=60_000)
    shown = dialog.inner_text()
    assert "Upload Error" in shown and "enclave dataset register" in shown, shown
    (refused,) = events(enclave, "edge.refused", reason="upload-too-large", path="cohort_copy.bin", user=PERSON)
    assert refused["details"]["chunk"] == 1  # JupyterLab chunked it; its first chunk was refused

    user = enclave.login(PERSON)
    listing = requests.get(
        f"{user.server_url(PROJECT)}/api/contents", timeout=60, headers={"Authorization": f"token {user.token()}"}
    ).json()
    names = {item["name"] for item in listing["content"]}
    assert "helper.py" in names and "cohort_copy.bin" not in names
