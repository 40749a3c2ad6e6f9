"""What reviewers see of a staged file on the request page: the whole file, read as the checks read it.

Tables: every row up to the row limit, with the cells the checks found highlighted and linked from
each finding; a null (a missing value) is shown apart from an empty string; rows that are a
table's own totals are marked. Text: every line, numbered, flagged lines highlighted. Markdown:
rendered with raw HTML off (the file's HTML is shown as text, never run). Images and PDF pages are
fetched by the page from routes of their own (a PDF is drawn as images on the server: the
reviewer's browser never runs a PDF). Everything returned is data for autoescaping templates,
except Markdown, whose renderer escapes all HTML of the file itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks.kinds import FileKind
from ..checks.sniff import detect
from ..checks.subject import CheckedFile
from ..checks.tables import TableError

MAX_TEXT_CHARS = 1_000_000  # a text file longer than this is shown in part (checks still read it whole)

IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}

# a finding's place: "row 12, column 3 'n'", "row 12", "line 4" (see services/findings.py)
_ROW_CELL = re.compile(r"row (\d+)(?:, column (\d+))?")
_LINE = re.compile(r"line (\d+)")
# a cell that names its row a total (of a frequency table, a summary table)
_TOTAL = re.compile(r"^\s*(total|totals|all|overall|sum|grand total)\s*$", re.IGNORECASE)
_MARKDOWN_EXTENSIONS = (".md", ".markdown")


def image_type(content: bytes, path: str = "") -> str | None:
    """The media type of an image the page may show inline (an SVG is shown through <img>, where
    it cannot run scripts or fetch anything), None for anything else."""
    if path and detect(content, Path(path).name).kind is FileKind.SVG:
        return "image/svg+xml"
    for magic, mime in IMAGE_TYPES.items():
        if content.startswith(magic):
            return mime
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass
class Finding:
    """One finding of one check, with the anchor of the place it points at ("" if none)."""

    rule: str
    verdict: str
    message: str
    location: str
    anchor: str = ""


@dataclass
class Preview:
    kind: str  # "table", "image", "text", "markdown", "pdf", "none"
    columns: list[str] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)  # None: a null, "" an empty string
    total_rows: int | None = None
    totals: list[int] = field(default_factory=list)  # 1-based rows that are the table's own totals
    text_lines: list[str] = field(default_factory=list)
    markdown_html: str = ""
    truncated: bool = False
    pages: int = 0
    note: str = ""
    findings: list[Finding] = field(default_factory=list)
    flagged: dict[str, list[int]] = field(default_factory=dict)  # anchor -> indexes into findings


def preview(file_id: int, path: str, content: bytes, checks: list[dict[str, Any]], max_rows: int) -> Preview:
    """The reviewer's view of one file; ``checks`` are its full check records."""
    detection = detect(content, Path(path).name)
    kind = detection.kind
    if image_type(content, path):
        result = Preview(kind="image")
    elif kind is FileKind.PDF:
        from .pdf_pages import page_count

        pages = page_count(content)
        result = (
            Preview(kind="pdf", pages=pages)
            if pages
            else Preview(
                kind="none", note="A PDF that could not be read: no preview. Ask the analyst for another format."
            )
        )
    elif kind.is_table:
        result = _table(CheckedFile(Path(path), content, detection), max_rows)
    elif kind in (FileKind.TEXT, FileKind.JSON, FileKind.ACRO_RESULTS) or _is_text(content):
        result = _text(path, content)
    else:
        result = Preview(kind="none", note=f"{detection.what}: no preview (the checks describe it).")
    _link_findings(result, file_id, checks)
    return result


def _is_text(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _table(file: CheckedFile, max_rows: int) -> Preview:
    try:
        df = file.table
    except TableError as exc:
        return Preview(kind="none", note=f"The table could not be read ({exc}); see the checks.")
    head = df.head(max_rows)
    rows = [list(row) for row in head.iter_rows()]
    totals = [i + 1 for i, row in enumerate(rows) if any(v is not None and _TOTAL.match(v) for v in row)]
    return Preview(
        kind="table",
        columns=[str(c) for c in df.columns],
        rows=rows,
        total_rows=df.height,
        totals=totals,
        truncated=df.height > max_rows,
    )


def _text(path: str, content: bytes) -> Preview:
    text = content.decode("utf-8", errors="replace").removeprefix("\ufeff")
    truncated = len(text) > MAX_TEXT_CHARS
    text = text[:MAX_TEXT_CHARS]
    lines = text.split("\n")
    if path.lower().endswith(_MARKDOWN_EXTENSIONS):
        return Preview(kind="markdown", markdown_html=render_markdown(text), text_lines=lines, truncated=truncated)
    return Preview(kind="text", text_lines=lines, truncated=truncated)


def render_markdown(text: str) -> str:
    """CommonMark with the file's raw HTML escaped, images shown as their alt text (nothing is
    fetched from anywhere), and only http(s)/mailto links (markdown-it drops javascript: and data:)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).disable("image")
    return md.render(text)


def _link_findings(result: Preview, file_id: int, checks: list[dict[str, Any]]) -> None:
    """Every finding of every check, each linked to the cell, row or line it names when shown."""
    for check in checks:
        for f in check.get("findings") or ():
            finding = Finding(
                check.get("rule", ""), check.get("verdict", ""), f.get("message", ""), f.get("location", "")
            )
            finding.anchor = _anchor(result, file_id, finding.location)
            if finding.anchor:
                result.flagged.setdefault(finding.anchor, []).append(len(result.findings))
            result.findings.append(finding)


def _anchor(result: Preview, file_id: int, location: str) -> str:
    if result.kind == "table":
        match = _ROW_CELL.match(location or "")
        if match and int(match.group(1)) <= len(result.rows):
            row, column = int(match.group(1)), match.group(2)
            if column and int(column) <= len(result.columns):
                return cell_anchor(file_id, row, int(column))
            return cell_anchor(file_id, row)
    if result.kind in ("text", "markdown"):
        match = _LINE.match(location or "")
        if match and int(match.group(1)) <= len(result.text_lines):
            return cell_anchor(file_id, int(match.group(1)), line=True)
    return ""


def cell_anchor(file_id: int, row: int, column: int | None = None, line: bool = False) -> str:
    """The HTML id of a table cell (row and column 1-based), a table row, or a text line."""
    if line:
        return f"f{file_id}-l{row}"
    return f"f{file_id}-r{row}" + ("" if column is None else f"-c{column}")
