"""Downloading a cohort file through each of Jupyter's own routes, from alice's browser session, fails.

Each refusal comes from enclave_lockdown inside the workspace (defence in depth; the edge controls of
issue 4 item 1 are not built yet). Every test first shows the file is there, so a 403 is the lockdown
refusing, not a missing file.
"""

from tests.integration.security.lockdown import CLOSED, TOO_LARGE
from tests.integration.security.probes import planted_kernelspec_code


def assert_closed(reply, secret: bytes = b""):
    assert reply.status_code == 403, (reply.status_code, reply.text[:300])
    assert CLOSED in reply.text
    if secret:
        assert secret not in reply.content


def first_row(alice_alpha, name: str) -> bytes:
    return alice_alpha.run(f"print(open('/home/analyst/{name}').readlines()[1].strip())").strip().encode()


def test_files_route_refuses_a_cohort_file(browser, alice_alpha, cohort_file):
    """RT-70: download a cohort extract through /files/ (and ?download=1)."""
    assert browser.get(f"api/contents/{cohort_file}?content=0").status_code == 200  # the file is there
    assert_closed(browser.get(f"files/{cohort_file}"), first_row(alice_alpha, cohort_file))
    assert_closed(browser.get(f"files/{cohort_file}?download=1"))


def test_view_route_refuses_a_cohort_file(browser, alice_alpha, cohort_file):
    """RT-71: open a cohort extract through /view/."""
    assert_closed(browser.get(f"view/{cohort_file}"), first_row(alice_alpha, cohort_file))


def test_nbconvert_download_of_a_notebook_is_refused(browser, small_notebook):
    """RT-72: export a notebook through /nbconvert/<format>/<path>?download=true."""
    assert browser.get(f"api/contents/{small_notebook}").status_code == 200
    assert_closed(browser.get(f"nbconvert/html/{small_notebook}?download=true"))
    assert_closed(browser.get(f"nbconvert/script/{small_notebook}?download=true"))


def test_nbconvert_of_a_posted_notebook_is_refused(browser):
    """RT-73: convert a posted notebook through POST /nbconvert/html."""
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert_closed(browser.post("nbconvert/html", json=notebook))


def test_contents_api_refuses_a_large_file_as_base64(browser, cohort_file):
    """RT-74: read a cohort extract through /api/contents as base64."""
    reply = browser.get(f"api/contents/{cohort_file}?format=base64&type=file")
    assert reply.status_code == 403 and TOO_LARGE in reply.json()["message"]
    assert "content" not in reply.json()  # an error, not a contents model


def test_contents_api_refuses_a_large_file_as_text(browser, cohort_file):
    """RT-75: read a cohort extract through /api/contents as text."""
    reply = browser.get(f"api/contents/{cohort_file}?content=1")
    assert reply.status_code == 403 and TOO_LARGE in reply.text


def test_contents_api_refuses_a_symlink_to_a_large_file(browser, alice_alpha, cohort_file):
    """RT-76: read a cohort extract through /api/contents via a symlink whose own size is small."""
    # lstat says a symlink is a few bytes long: the size of what was read is what counts.
    alice_alpha.run(
        "import os\n"
        "os.path.lexists('/home/analyst/linked.csv') or os.symlink("
        f"'/home/analyst/{cohort_file}', '/home/analyst/linked.csv')\n"
    )
    head = browser.get("api/contents/linked.csv?content=0")
    assert head.status_code == 200 and head.json()["size"] < 1024  # the link's own size
    reply = browser.get("api/contents/linked.csv?format=base64&type=file")
    assert reply.status_code == 403 and TOO_LARGE in reply.text


def test_contents_api_still_serves_listings_notebooks_and_small_text_files(browser, alice_alpha, small_notebook):
    """Control for RT-74..76: listings, notebooks and small text files still work."""
    alice_alpha.run("open('/home/analyst/notes.txt', 'w').write('small and editable')")
    listing = browser.get("api/contents/")
    assert listing.status_code == 200
    assert {"notes.txt", small_notebook} <= {item["name"] for item in listing.json()["content"]}
    notebook = browser.get(f"api/contents/{small_notebook}")
    assert notebook.status_code == 200 and notebook.json()["content"]["cells"][0]["source"] == "print(1)"
    text = browser.get("api/contents/notes.txt?content=1&format=text&type=file")
    assert text.status_code == 200 and text.json()["content"] == "small and editable"


def test_kernelspec_resources_from_the_home_folder_are_not_served(browser, alice_alpha, cohort_file):
    """RT-77: serve a cohort file as a resource of a kernelspec made in the home folder."""
    # A kernelspec folder's files are served at /kernelspecs/<name>/<file>: one in the home folder would
    # be a download route. JUPYTER_DATA_DIR is root-owned, so the server does not look there.
    alice_alpha.run(planted_kernelspec_code(cohort_file))
    assert set(browser.get("api/kernelspecs").json()["kernelspecs"]) == {"python3"}
    assert browser.get("kernelspecs/leak/logo-64x64.png").status_code == 404
