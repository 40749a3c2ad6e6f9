"""encoded_payloads: text that is mostly an encoded run, or decodes to a compressed stream, blocks."""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from typing import Any

import polars as pl

from ..encoded import scan
from ..kinds import ALLOWED_KINDS, FileKind
from ..rule import Rule, listing
from ..structure import PNG_SIGNATURE, PNG_TEXT_CHUNKS, _pdf_inflated_streams, jpeg_problems, png_problems
from ..subject import CheckedFile
from ..types import CheckContext, CheckResult, Finding, Verdict

_DATA_URL = re.compile(r"data:image/(png|jpeg|jpg|gif);base64,([A-Za-z0-9+/=\s]*)", re.IGNORECASE)
_TEXT_LIKE = frozenset({FileKind.TEXT, FileKind.JSON, FileKind.ACRO_RESULTS, FileKind.SVG, FileKind.CSV})


class EncodedPayloadsRule(Rule):
    name = "encoded_payloads"
    version = "1"
    description = """Blocks a file carrying an encoded payload: a run of base64 or hex characters
    (or a block of lines or cells wholly made of them) of at least encoded_min_run characters
    with at least encoded_min_entropy bits per character, any run whose start decodes to a
    compressed, archive, executable or container stream (gzip, zlib, bzip2, xz, zstd, zip,
    Parquet, pickle, ELF...), text whose long runs make up at least encoded_min_share of its
    characters, and lines of 64 or more numbers 0-255 that are such a stream. Read in text,
    CSV, JSON and SVG files line by line, in Parquet cells column by column, in PNG text
    chunks, JPEG comment and application segments, PDF bytes and Flate streams, and in the
    images an SVG embeds (which must also be valid images). Findings give the place and the
    length, never the payload."""
    kinds = ALLOWED_KINDS
    on_finding = Verdict.BLOCK

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        config = context.config
        return {
            "encoded_min_run": config.encoded_min_run,
            "encoded_min_entropy": config.encoded_min_entropy,
            "encoded_min_share": config.encoded_min_share,
            "decodes": "base64, URL-safe base64, hex, byte lists; looks for compressed/archive/binary magic",
        }

    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        config = context.config
        problems: list[Finding] = []
        places = _places(file, problems)
        payloads = scan(places, config.encoded_min_run, config.encoded_min_entropy, config.encoded_min_share)
        findings = problems + [Finding(f"{p.what} ({p.length:,} characters)", p.place) for p in payloads]
        if not findings:
            return self.result(context, Verdict.PASS, "no encoded payload found")
        shown = findings[: max(config.max_findings, 0)]
        summary = f"{len(findings):,} encoded payload{'s' if len(findings) != 1 else ''}" + listing(
            len(findings), len(shown)
        )
        return self.result(context, Verdict.BLOCK, summary, shown)


def _places(file: CheckedFile, problems: list[Finding]) -> pl.DataFrame:
    """Every place text can hide in this file: columns place, text, group."""
    if file.kind is FileKind.PARQUET:
        table = file.table
        parts = [
            pl.DataFrame({"text": table.get_column(name)})
            .with_row_index("row", offset=1)
            .select(
                pl.format("row {}, column {}", "row", pl.lit(position + 1)).alias("place"),
                "text",
                pl.lit(position).alias("group"),
            )
            for position, name in enumerate(table.columns)
        ]
        return _frame(pl.concat(parts) if parts else None)
    if file.kind in _TEXT_LIKE:
        text = file.text
        if file.kind is FileKind.SVG:
            text = _DATA_URL.sub(lambda m: _embedded_image(m, problems), text)
        return _lines(text)
    if file.kind is FileKind.PNG:
        return _frame(pl.DataFrame(_png_texts(file.data), schema=["place", "text"], orient="row"))
    if file.kind is FileKind.JPEG:
        return _frame(pl.DataFrame(_jpeg_segments(file.data), schema=["place", "text"], orient="row"))
    if file.kind is FileKind.PDF:
        texts = [("PDF bytes", file.data.decode("latin-1"))]
        texts += [
            (f"PDF stream {n + 1} (inflated)", chunk.decode("latin-1"))
            for n, chunk in enumerate(_pdf_inflated_streams(file.data))
        ]
        return _frame(pl.DataFrame(texts, schema=["place", "text"], orient="row"))
    return _frame(None)


def _lines(text: str) -> pl.DataFrame:
    return (
        pl.DataFrame({"text": text.split("\n")}, schema={"text": pl.String})
        .with_row_index("n", offset=1)
        .select(
            pl.format("line {}", "n").alias("place"), pl.col("text").str.strip_chars_end("\r"), pl.lit(0).alias("group")
        )
    )


def _frame(frame: pl.DataFrame | None) -> pl.DataFrame:
    schema = {"place": pl.String, "text": pl.String, "group": pl.Int64}
    if frame is None or not frame.height:
        return pl.DataFrame(schema=schema)
    if "group" not in frame.columns:
        frame = frame.with_row_index("group")
    return frame.select(pl.col("place").cast(pl.String), pl.col("text").cast(pl.String), pl.col("group").cast(pl.Int64))


def _embedded_image(match: re.Match, problems: list[Finding]) -> str:
    """Check an SVG's embedded image; its base64 is then left out of the text scan."""
    kind, payload = match.group(1).lower(), re.sub(r"\s", "", match.group(2))
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        problems.append(Finding("embedded image is not valid base64", "SVG data: URL"))
        return ""
    if kind == "png":
        issues = png_problems(data)
        text = " ".join(t for _, t in _png_texts(data)) if not issues else ""
    elif kind in ("jpeg", "jpg"):
        issues = jpeg_problems(data)
        text = " ".join(t for _, t in _jpeg_segments(data)) if not issues else ""
    else:
        issues = [] if data[:6] in (b"GIF87a", b"GIF89a") and data.endswith(b";") else ["not a GIF image"]
        text = ""
    problems += [Finding(f"embedded {kind} image: {issue}", "SVG data: URL") for issue in issues]
    return f" {text} "  # the image's own text is scanned where it was


def _png_texts(data: bytes) -> list[tuple[str, str]]:
    texts, pos = [], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if ctype in PNG_TEXT_CHUNKS:
            keyword, _, rest = body.partition(b"\x00")
            if ctype == b"zTXt":
                rest = _inflate(rest[1:])
            elif ctype == b"iTXt":
                flag, rest = rest[:1], rest[2:]
                rest = rest.split(b"\x00", 2)[-1]
                rest = _inflate(rest) if flag == b"\x01" else rest
            texts.append((f"PNG text chunk '{keyword.decode('latin-1')[:40]}'", rest.decode("latin-1")))
        pos += 12 + length
        if ctype == b"IEND":
            break
    return texts


def _jpeg_segments(data: bytes) -> list[tuple[str, str]]:
    texts, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: compressed image data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == 0xFE or 0xE0 <= marker <= 0xEF:
            name = "comment" if marker == 0xFE else f"APP{marker - 0xE0}"
            texts.append((f"JPEG {name} segment", data[pos + 4 : pos + 2 + length].decode("latin-1")))
        pos += 2 + length
    return texts


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompressobj().decompress(data, 1024 * 1024)
    except zlib.error:
        return b""


RULE = EncodedPayloadsRule()
