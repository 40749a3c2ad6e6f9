"""size_limits: the file's size in bytes, and a table's number of data rows."""

from __future__ import annotations

from typing import Any

import polars as pl

from ..kinds import FileKind
from ..rule import Rule
from ..subject import CheckedFile
from ..types import CheckContext, CheckResult, Finding, Verdict


class SizeLimitsRule(Rule):
    name = "size_limits"
    version = "1"
    description = """Blocks a file larger than max_file_bytes, and a table with more than
    max_table_rows data rows (the header is not a row; wholly empty lines are not counted)."""
    kinds = frozenset(FileKind)
    on_finding = Verdict.BLOCK

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        return {
            "max_file_bytes": context.config.max_file_bytes,
            "max_table_rows": context.config.max_table_rows,
        }

    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        config = context.config
        findings = []
        if file.size > config.max_file_bytes:
            findings.append(Finding(f"{file.size:,} bytes is over the limit of {config.max_file_bytes:,} bytes"))
        rows = None
        if file.kind.is_table:
            rows = data_rows(file.table)
            if rows > config.max_table_rows:
                findings.append(Finding(f"{rows:,} data rows is over the limit of {config.max_table_rows:,} rows"))
        measured = f"{file.size:,} bytes" + ("" if rows is None else f", {rows:,} data rows")
        if findings:
            return self.result(context, Verdict.BLOCK, findings[0].message, findings)
        return self.result(context, Verdict.PASS, f"{measured}, within limits")


def data_rows(frame: pl.DataFrame) -> int:
    if not frame.width:
        return 0
    blank = frame.select(pl.all_horizontal(pl.all().is_null())).to_series()
    return frame.height - int(blank.sum())


RULE = SizeLimitsRule()
