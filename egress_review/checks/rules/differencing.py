"""differencing: counts that differ from an earlier released count by a small amount."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ..countlike import count_columns, name_words
from ..kinds import TABLE_KINDS
from ..rule import Rule, listing
from ..subject import CheckedFile
from ..tables import counts, numbers
from ..types import CheckContext, CheckResult, Finding, Verdict

MEASURE_WORDS = frozenset(
    """mean median average avg sd se std stdev var variance ci lower upper lci uci pct
    percent percentage prop proportion rate ratio or hr rr beta coef estimate est p pval
    pvalue z t score""".split()
)


class DifferencingRule(Rule):
    name = "differencing"
    version = "1"
    description = """Flags a count in the new table that differs from a count of an earlier
    released table of the project by d with 0 < d < differencing_threshold: subtracting one
    from the other reveals a group of d people. Tables are compared when they share a
    count-like column (same name) and their category columns (the other, non-measure
    columns) either are the same, or one table's are a subset of the other's (the finer
    table is then summed up to the coarser one). Rows are paired by their category values.
    It does not find differences hidden behind other changes (recoded categories, other
    column names, filters not visible as a category, chains of three or more tables)."""
    kinds = TABLE_KINDS
    on_finding = Verdict.FLAG

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        return {
            "differencing_threshold": context.config.differencing_threshold,
            "released_tables": len(context.released_tables),
            "max_findings": context.config.max_findings,
        }

    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        if not context.released_tables:
            return self.result(context, Verdict.PASS, "no earlier released tables")
        new = Structured.of(file.table)
        if not new.counts:
            return self.result(context, Verdict.PASS, "no count-like columns to compare")
        threshold = context.config.differencing_threshold
        found: list[Finding] = []
        compared, unreadable = 0, 0
        for path in context.released_tables:
            released = CheckedFile.load(Path(path))
            if not released.kind.is_table:
                continue
            try:
                old = Structured.of(released.table)
            except ValueError:
                unreadable += 1
                continue
            pairs = compare(new, old, threshold)
            if pairs is None:
                continue
            compared += 1
            found += [
                Finding(
                    f"'{column}' is {a} here and {b} in released '{Path(path).name}'"
                    f" ({where_old}): the difference {abs(a - b)} reveals a group smaller than {threshold}",
                    where_new,
                )
                for where_new, where_old, column, a, b in pairs
            ]
        note = f"; {unreadable} released table(s) could not be read" if unreadable else ""
        if not found:
            return self.result(
                context,
                Verdict.PASS,
                f"compared with {compared} released table(s), no small difference{note}",
            )
        shown = found[: max(context.config.max_findings, 0)]
        summary = (
            f"{len(found):,} count{'s' if len(found) != 1 else ''} differ from released counts by less than"
            f" {threshold}" + listing(len(found), len(shown)) + note
        )
        return self.result(context, Verdict.FLAG, summary, shown)


class Structured:
    """A table split into category (key) columns and count columns, with normalised names."""

    def __init__(self, frame: pl.DataFrame, keys: list[str], count_names: list[str]):
        self.frame, self.keys, self.counts = frame, keys, count_names

    @classmethod
    def of(cls, table: pl.DataFrame) -> Structured:
        count_names = count_columns(table)
        keys = [c for c in table.columns if c not in count_names and not _is_measure(table.get_column(c))]
        frame = table.select(
            [pl.col(c).cast(pl.String).str.strip_chars().str.to_lowercase().alias(_norm(c)) for c in keys]
            + [counts(table.get_column(c)).alias(_norm(c)) for c in count_names]
        ).with_row_index("__row")
        return cls(frame, [_norm(c) for c in keys], [_norm(c) for c in count_names])


def compare(new: Structured, old: Structured, threshold: int):
    """[(where in new, where in old, count column, new value, old value)] or None if not comparable."""
    shared = [c for c in new.counts if c in old.counts]
    if not shared:
        return None
    new_keys, old_keys = set(new.keys), set(old.keys)
    if new_keys == old_keys:
        keys = list(new.keys)
        left, right = _unique(new.frame, keys), _unique(old.frame, keys)
    elif old_keys < new_keys:
        keys = [k for k in new.keys if k in old_keys]
        left, right = _summed(new.frame, keys, shared), _unique(old.frame, keys)
    elif new_keys < old_keys:
        keys = [k for k in old.keys if k in new_keys]
        left, right = _unique(new.frame, keys), _summed(old.frame, keys, shared)
    else:
        return None
    if not keys and not (left.height == 1 and right.height == 1):
        return None
    right = right.rename({c: c + "__old" for c in right.columns if c not in keys})
    if keys:
        joined = left.join(right, on=keys, how="inner", maintain_order="left")
    else:
        joined = pl.concat([left, right], how="horizontal")
    pairs = []
    for row in joined.iter_rows(named=True):
        for column in shared:
            a, b = row.get(column), row.get(column + "__old")
            if a is None or b is None or not 0 < abs(a - b) < threshold:
                continue
            pairs.append((_where(row, keys, "__row"), _where(row, keys, "__row__old"), column, a, b))
    return pairs


def _unique(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    if not keys:
        return frame
    return frame.filter(pl.len().over(keys) == 1)


def _summed(frame: pl.DataFrame, keys: list[str], shared: list[str]) -> pl.DataFrame:
    """Counts summed over the columns not in `keys`; a sum with a missing (suppressed) part is null."""
    if not keys:
        grouped = frame.select([pl.when(pl.col(c).null_count() == 0).then(pl.col(c).sum()).alias(c) for c in shared])
    else:
        grouped = frame.group_by(keys, maintain_order=True).agg(
            [pl.when(pl.col(c).null_count() == 0).then(pl.col(c).sum()).alias(c) for c in shared]
        )
    return grouped


def _where(row: dict, keys: list[str], row_column: str) -> str:
    if row.get(row_column) is not None:
        return f"row {row[row_column] + 1}"
    shown = ", ".join(f"{k}={row[k]}" for k in keys[:4])
    return f"sum over rows with {shown}" if shown else "sum over all rows"


def _is_measure(series: pl.Series) -> bool:
    if set(name_words(series.name)) & MEASURE_WORDS:
        return True
    value = numbers(series).drop_nulls()
    return bool(value.len()) and bool((value != value.floor()).any())


def _norm(name: str) -> str:
    return name.strip().lower()


RULE = DifferencingRule()
