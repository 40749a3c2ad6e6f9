"""small_counts: count-like cells with 0 < n < threshold, flagged cell by cell."""

from __future__ import annotations

from typing import Any

import polars as pl

from ..countlike import count_columns
from ..kinds import TABLE_KINDS
from ..rule import Rule, listing
from ..subject import CheckedFile
from ..tables import counts
from ..types import CheckContext, CheckResult, Finding, Verdict


class SmallCountsRule(Rule):
    name = "small_counts"
    version = "2"
    description = """Flags every count-like cell with 0 < n < small_count_threshold, naming its
    row and column; a reviewer decides. Count-like columns: a word of the name says count
    (n, count, freq, total, cases, number, patients, ...), or the name does not say it is
    something else (id, code, year, age, rank, mean, percent, ...) and every cell is a
    non-negative whole number (or 'N (x%)', or a suppression marker such as '<5' or '*'),
    not all years and not a 1..n row index. With small_counts_flag_zeros (the default, as in
    ACRO, whose zeros_are_disclosive is on by default) zero cells are flagged too: a zero in a
    frequency table says that nobody in a group has an attribute."""
    kinds = TABLE_KINDS
    on_finding = Verdict.FLAG

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        return {
            "small_count_threshold": context.config.small_count_threshold,
            "small_counts_flag_zeros": context.config.small_counts_flag_zeros,
            "max_findings": context.config.max_findings,
        }

    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        table = file.table
        threshold = context.config.small_count_threshold
        columns = count_columns(table)
        if not columns:
            return self.result(context, Verdict.PASS, "no count-like columns")
        zeros = context.config.small_counts_flag_zeros
        small = small_cells(table, columns, threshold, zeros)
        lowest = 0 if zeros else 1
        if not small:
            return self.result(
                context, Verdict.PASS, f"no count between {lowest} and {threshold - 1} in {_names(columns)}"
            )
        findings = [
            Finding(
                f"count {n} is below {threshold}" if n else "count 0 (a zero cell: nobody in this group)",
                f"row {row + 1}, column {table.columns.index(col) + 1} '{col}'",
            )
            for row, col, n in small[: max(context.config.max_findings, 0)]
        ]
        summary = (
            f"{len(small):,} count{'s' if len(small) != 1 else ''} between {lowest} and {threshold - 1}"
            f" in {_names(columns)}" + listing(len(small), len(findings))
        )
        return self.result(context, Verdict.FLAG, summary, findings)


def small_cells(
    table: pl.DataFrame, columns: list[str], threshold: int, zeros: bool = False
) -> list[tuple[int, str, int]]:
    """(0-based row, column, count) of the small counts (and zeros if asked), in row then column order."""
    order = {name: i for i, name in enumerate(table.columns)}
    found = []
    for name in columns:
        values = counts(table.get_column(name))
        rows = ((values >= (0 if zeros else 1)) & (values < threshold)).fill_null(False).arg_true()
        found += [(row, name, values[row]) for row in rows.to_list()]
    return sorted(found, key=lambda item: (item[0], order[item[1]]))


def _names(columns: list[str]) -> str:
    shown = ", ".join(f"'{c}'" for c in columns[:5])
    return f"column{'s' if len(columns) != 1 else ''} {shown}" + (" ..." if len(columns) > 5 else "")


RULE = SmallCountsRule()
