"""PDF pages drawn as PNG images, in a child process with limits.

A PDF is the analyst's file: parsing it in the airlock's own process would let a malformed PDF
attack the process that holds the review database, and sending it to the reviewer's browser would
run its scripts and forms there. So a short-lived child process (address space, CPU time and a
wall-clock timeout capped) renders one page with PDFium and hands back PNG bytes.
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys

MAX_PAGES = 50  # pages shown inline; the rest are named, not drawn
SCALE = 1.5  # 108 dpi: readable tables without huge images
_TIMEOUT_S = 30
_MEMORY_BYTES = 1024 * 1024 * 1024
_CPU_SECONDS = 20


def page_count(content: bytes) -> int:
    """How many pages the PDF has (0 when it cannot be read)."""
    out = _run(["count"], content)
    try:
        return int(out.decode()) if out is not None else 0
    except ValueError:
        return 0


def render_page(content: bytes, page: int) -> bytes | None:
    """PNG bytes of page ``page`` (1-based), or None when it cannot be drawn."""
    if not 1 <= page <= MAX_PAGES:
        return None
    out = _run(["page", str(page)], content)
    return out if out and out.startswith(b"\x89PNG") else None


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_BYTES, _MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (_CPU_SECONDS, _CPU_SECONDS))


def _run(args: list[str], content: bytes) -> bytes | None:
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__, *args],
            input=content,
            capture_output=True,
            timeout=_TIMEOUT_S,
            preexec_fn=_limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 else None


def _main(argv: list[str]) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(sys.stdin.buffer.read())
    if argv[0] == "count":
        sys.stdout.write(str(len(pdf)))
        return 0
    index = int(argv[1]) - 1
    if not 0 <= index < len(pdf):
        return 1
    image = pdf[index].render(scale=SCALE).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    sys.stdout.buffer.write(buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
