"""row_level_data: rows of a table that reproduce cohort rows on several columns."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from ..kinds import TABLE_KINDS
from ..rule import Rule, listing
from ..subject import CheckedFile
from ..tables import null_like, numbers
from ..types import CheckContext, CheckResult, Finding, Verdict


class RowLevelDataRule(Rule):
    name = "row_level_data"
    version = "1"
    description = """Blocks a table with more than row_match_max_rows rows that match a row of
    the project's cohort data on at least row_match_min_columns columns. Columns are paired
    by name (case and surrounding spaces ignored); numbers compare by value after rounding
    to row_match_float_decimals decimals, text after trimming and lower-casing. Cohort
    columns with fewer than row_match_min_distinct distinct values (sex, region, ...)
    are grouping columns and are not matched, so an aggregate table by sex and region is
    not row-level data. Matching uses hash joins, not row-by-row comparison."""
    kinds = TABLE_KINDS
    on_finding = Verdict.BLOCK

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        config = context.config
        return {
            "row_match_min_columns": config.row_match_min_columns,
            "row_match_max_rows": config.row_match_max_rows,
            "row_match_min_distinct": config.row_match_min_distinct,
            "row_match_float_decimals": config.row_match_float_decimals,
            "cohort_tables": len(context.cohort_tables),
        }

    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        if not context.cohort_tables:
            return self.result(context, Verdict.PASS, "no cohort data to compare with")
        table = file.table
        matched: dict[int, tuple[str, tuple[str, ...]]] = {}
        for cohort_path in context.cohort_tables:
            for row, columns in matching_rows(table, Path(cohort_path), context).items():
                matched.setdefault(row, (Path(cohort_path).name, columns))
        config = context.config
        if not matched:
            return self.result(context, Verdict.PASS, "no row matches cohort data")
        findings = [
            Finding(
                f"matches a row of cohort table '{source}' on " + ", ".join(f"'{c}'" for c in columns),
                f"row {row + 1}",
            )
            for row, (source, columns) in sorted(matched.items())[: max(config.max_findings, 0)]
        ]
        verdict = Verdict.BLOCK if len(matched) > config.row_match_max_rows else Verdict.FLAG
        summary = (
            f"{len(matched):,} row{'s' if len(matched) != 1 else ''} match cohort rows on "
            f">= {config.row_match_min_columns} columns" + listing(len(matched), len(findings))
        )
        return self.result(context, verdict, summary, findings)


def matching_rows(
    table: pl.DataFrame, cohort_path: Path, context: CheckContext
) -> dict[int, tuple[str, ...]]:
    """0-based rows of `table` matching some cohort row on enough columns -> the output columns matched."""
    config = context.config
    need = max(config.row_match_min_columns, 1)
    by_name = {_column_key(name): name for name in table.columns}
    pairs = [
        (by_name[_column_key(name)], name)
        for name in pq.read_schema(cohort_path).names
        if _column_key(name) in by_name
    ]
    if len(pairs) < need or not table.height:
        return {}
    cohort = pl.read_parquet(cohort_path, columns=[c for _, c in pairs])
    keys_out, keys_cohort = {}, {}
    for out_name, cohort_name in pairs:
        source = cohort.get_column(cohort_name)
        if source.n_unique() < config.row_match_min_distinct:
            continue  # a grouping column: matching it says nothing about a person
        out_key, cohort_key = _comparable(table.get_column(out_name), source, config.row_match_float_decimals)
        keys_out[out_name], keys_cohort[out_name] = out_key, cohort_key
    usable = list(keys_out)
    if len(usable) < need:
        return {}
    out = pl.DataFrame([keys_out[c].alias(c) for c in usable]).with_row_index("__row")
    coh = pl.DataFrame([keys_cohort[c].alias(c) for c in usable])
    # rows that could match: at least `need` of their values occur in the other side's column
    out = out.filter(_hits(usable, coh) >= need)
    if not out.height:
        return {}
    coh = coh.filter(_hits(usable, out) >= need)
    matched: dict[int, tuple[str, ...]] = {}
    for combo in combinations(usable, need):
        left = out.filter(~pl.col("__row").is_in(pl.Series(list(matched), dtype=pl.UInt32).implode()))
        hit = left.join(coh.select(combo).unique(), on=list(combo), how="semi")
        for row in hit.get_column("__row").to_list():
            matched[row] = combo
    return matched


def _hits(columns: list[str], other: pl.DataFrame) -> pl.Expr:
    return pl.sum_horizontal(
        [
            pl.col(c)
            .is_in(other.get_column(c).drop_nulls().unique().implode())
            .fill_null(False)
            .cast(pl.Int32)
            for c in columns
        ]
    )


def _column_key(name: str) -> str:
    return name.strip().lower()


def _comparable(out: pl.Series, cohort: pl.Series, decimals: int) -> tuple[pl.Series, pl.Series]:
    """Both columns in one comparable form; cells holding no value become null (never match)."""
    dtype = cohort.dtype
    if dtype.is_numeric() and dtype != pl.Boolean:
        if dtype == pl.Float32:  # shortest float32 text, so 27.3145f matches "27.3145"
            cohort = cohort.cast(pl.String)
        return numbers(out).round(decimals), cohort.cast(pl.Float64).round(decimals)
    if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
        cohort_text = cohort.dt.strftime("%Y-%m-%d %H:%M:%S")
        out_text = out.str.strip_chars().str.replace("T", " ", literal=True).str.replace(r"\.0*$", "")
        return _text(out_text, null_like(out)), cohort_text
    return _text(out, null_like(out)), _text(cohort.cast(pl.String), cohort.is_null())


def _text(series: pl.Series, empty: pl.Series) -> pl.Series:
    text = series.cast(pl.String).str.strip_chars().str.to_lowercase()
    return text.set(empty, None)


RULE = RowLevelDataRule()
