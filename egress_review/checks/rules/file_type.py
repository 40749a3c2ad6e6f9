"""file_type: the content must be an allowed kind, valid, and agree with the file's extension."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq

from ..kinds import ALLOWED_KINDS, EXTENSION_KINDS, FileKind
from ..rule import Rule
from ..sniff import extension
from ..structure import jpeg_problems, pdf_problems, png_problems, svg_problems
from ..subject import CheckedFile
from ..types import CheckContext, CheckResult, Finding, Verdict


class FileTypeRule(Rule):
    name = "file_type"
    version = "1"
    description = """Detects the file's type from its bytes (magic numbers and structure), not its
    name, and blocks anything not on the allowlist: tables (CSV/TSV as UTF-8 text,
    Parquet), plain text/Markdown, JSON, PNG, JPEG, passive SVG, PDF without active
    content. Executables, scripts, bytecode, archives, compressed data, pickles,
    HDF5/NetCDF, SQLite, HTML and unknown binary are blocked, and so is a file whose
    extension does not match its content (a zip named results.csv)."""
    kinds = frozenset(FileKind)
    on_finding = Verdict.BLOCK

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        return {
            "allowed_kinds": sorted(kind.value for kind in ALLOWED_KINDS),
            "allowed_extensions": sorted(EXTENSION_KINDS),
            "svg": "allowed only without scripts, event handlers or external references",
        }

    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        kind, what = file.kind, file.detection.what
        problems: list[str] = []
        if not kind.allowed:
            problems.append(f"content is {what}, which may not leave the enclave")
        else:
            problems += [f"{what}: {p}" for p in _structure_problems(file)]
        ext = extension(file.path.name)
        expected = EXTENSION_KINDS.get(ext)
        if expected is None:
            problems.append(
                f"extension '{ext or '(none)'}' is not allowed; use one of " + ", ".join(sorted(EXTENSION_KINDS))
            )
        elif kind not in expected:
            problems.append(f"extension '{ext}' does not match the content ({what})")
        if problems:
            return self.result(context, Verdict.BLOCK, problems[0], [Finding(p) for p in problems])
        return self.result(context, Verdict.PASS, f"{what}, allowed")


def _structure_problems(file: CheckedFile) -> list[str]:
    if file.kind is FileKind.PNG:
        return png_problems(file.data)
    if file.kind is FileKind.JPEG:
        return jpeg_problems(file.data)
    if file.kind is FileKind.PDF:
        return pdf_problems(file.data)
    if file.kind is FileKind.SVG:
        return svg_problems(file.text)
    if file.kind is FileKind.PARQUET:
        return _parquet_problems(file.data)
    return []


def _parquet_problems(data: bytes) -> list[str]:
    try:
        pq.ParquetFile(io.BytesIO(data)).metadata  # noqa: B018 - reading it validates the footer
    except Exception as exc:
        return [f"unreadable Parquet metadata ({type(exc).__name__})"]
    return []


RULE = FileTypeRule()
