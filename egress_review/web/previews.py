"""Previews of staged files for the request page: tables as HTML tables
(first N rows), images inline, text escaped. Content decides, not the name.
Everything returned is data for autoescaping templates, never raw HTML."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

MAX_TEXT_CHARS = 20_000

IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def image_type(content: bytes) -> str | None:
    for magic, mime in IMAGE_TYPES.items():
        if content.startswith(magic):
            return mime
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass
class Preview:
    kind: str  # "table", "image", "text", "pdf", "none"
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    total_rows: int | None = None
    text: str = ""
    truncated: bool = False
    note: str = ""


def preview(path: str, content: bytes, max_rows: int) -> Preview:
    if image_type(content):
        return Preview(kind="image")
    if content.startswith(b"%PDF-"):
        return Preview(kind="pdf", note="PDF: no inline preview; reviewers see the check results and can ask for a table.")
    if content.startswith(b"PAR1"):
        return _parquet(content, max_rows)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return Preview(kind="none", note="Binary content that is not a table, image, PDF or text: no preview.")
    lower = path.lower()
    if lower.endswith((".csv", ".tsv", ".txt")) or "," in text.split("\n", 1)[0]:
        table = _csv(content, max_rows, separator="\t" if lower.endswith(".tsv") else ",")
        if table is not None:
            return table
    return Preview(kind="text", text=text[:MAX_TEXT_CHARS], truncated=len(text) > MAX_TEXT_CHARS)


def _csv(content: bytes, max_rows: int, separator: str) -> Preview | None:
    import polars as pl

    try:
        df = pl.read_csv(io.BytesIO(content), separator=separator, infer_schema=False, truncate_ragged_lines=True)
    except Exception:
        return None
    if df.width < 2:
        return None
    return _table(df, max_rows)


def _parquet(content: bytes, max_rows: int) -> Preview:
    import polars as pl

    try:
        df = pl.read_parquet(io.BytesIO(content))
    except Exception:
        return Preview(kind="none", note="A Parquet file that could not be read: no preview.")
    return _table(df, max_rows)


def _table(df, max_rows: int) -> Preview:
    head = df.head(max_rows)
    rows = [["" if v is None else str(v) for v in row] for row in head.iter_rows()]
    return Preview(
        kind="table",
        columns=[str(c) for c in df.columns],
        rows=rows,
        total_rows=df.height,
        truncated=df.height > max_rows,
    )
