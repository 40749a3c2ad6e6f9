"""row_level_data: rows of any table in a file that reproduce cohort rows, matched by values, not names."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..cohort_sketch import ColumnSketch, TableSketch, row_hashes, sketch_of
from ..kinds import TABLE_KINDS, FileKind
from ..rule import Rule, listing
from ..structured import FoundTable, tables_in
from ..subject import CheckedFile
from ..types import CheckContext, CheckResult, ChecksConfig, Finding, Verdict
from ..values import NUMBER, output_hashes

SAMPLE = 256  # distinct values of an output column compared with a cohort column's set (bottom-k)
CANDIDATES_PER_COLUMN = 2  # cohort columns an output column may stand for, per cohort table
MAX_PAIRS = 12
MAX_COMBINATIONS = 200
SMALL_TABLE = 4  # fewer rows: no chance estimate (rows cannot be shifted against each other)


class RowLevelDataRule(Rule):
    name = "row_level_data"
    version = "2"
    description = """Blocks a file holding a table with more than row_match_max_rows rows that
    reproduce rows of the project's cohort data. Every table the file carries is read: CSV/TSV,
    Parquet, JSON (arrays of records, objects of arrays, pandas' orients), and delimited,
    key=value, space-aligned or JSON lines in any text file, each also transposed when it is
    wider than long. Output columns are matched to cohort columns by their values (at least
    row_match_min_containment of a column's distinct values are values of the cohort column,
    from a sketch of each cohort column's value set) or by name, so renaming, reordering and
    transposing do not hide rows. A row is row-level when it matches one cohort row on at least
    row_match_min_columns columns, or on two columns whose pair of values occurs at most
    row_match_rare_pair_max times in the cohort, for two cohort columns whose pairs are that
    rare for at least row_match_pair_uniqueness of the cohort's rows (a narrow table of rare
    combinations: a diagnosis code with its date). Cohort
    columns with fewer than row_match_min_distinct distinct values (sex, region...) never count.
    Matches on columns paired by value are counted only when they are not chance: the table's
    columns are shifted against each other and matched again, and the rows must match at least
    row_match_chance_factor times as often as the shifted ones, plus two (tables of 4 rows or
    more; smaller tables need row_match_min_columns columns)."""
    kinds = TABLE_KINDS | {FileKind.TEXT, FileKind.JSON}
    on_finding = Verdict.BLOCK

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        config = context.config
        return {
            "row_match_min_columns": config.row_match_min_columns,
            "row_match_max_rows": config.row_match_max_rows,
            "row_match_min_distinct": config.row_match_min_distinct,
            "row_match_float_decimals": config.row_match_float_decimals,
            "row_match_min_containment": config.row_match_min_containment,
            "row_match_rare_pair_max": config.row_match_rare_pair_max,
            "row_match_pair_uniqueness": config.row_match_pair_uniqueness,
            "row_match_chance_factor": config.row_match_chance_factor,
            "match": "by values (cohort column sketches) or by name",
            "cohort_tables": len(context.cohort_tables),
        }

    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        if not context.cohort_tables:
            return self.result(context, Verdict.PASS, "no cohort data to compare with")
        found = tables_in(file)
        if not found:
            return self.result(context, Verdict.PASS, "no table in the file")
        config = context.config
        cohort = [(Path(p), sketch_of(Path(p), config.row_match_float_decimals)) for p in context.cohort_tables]
        matched: dict[str, tuple[FoundTable, int, str]] = {}  # place -> (table, row, description)
        for table in found:
            for path, sketch in cohort:
                for row, what in matching_rows(table, path, sketch, config).items():
                    matched.setdefault(table.place(row), (table, row, f"{what} of cohort table '{path.name}'"))
        if not matched:
            return self.result(context, Verdict.PASS, "no row matches cohort data")
        ordered = sorted(matched.items(), key=lambda item: (item[1][0].source, item[1][1]))
        findings = [
            Finding(f"{table.source}: matches {what}", place)
            for place, (table, _, what) in ordered[: max(config.max_findings, 0)]
        ]
        verdict = Verdict.BLOCK if len(matched) > config.row_match_max_rows else Verdict.FLAG
        summary = f"{len(matched):,} row{'s' if len(matched) != 1 else ''} reproduce cohort rows" + listing(
            len(matched), len(findings)
        )
        return self.result(context, verdict, summary, findings)


@dataclass(frozen=True)
class Pair:
    output: str  # output column
    cohort: ColumnSketch
    named: bool  # paired by name (the same name, case and spaces ignored)
    containment: float


def matching_rows(table: FoundTable, path: Path, sketch: TableSketch, config: ChecksConfig) -> dict[int, str]:
    """0-based rows of `table` reproducing rows of one cohort table -> what they match on."""
    frame = table.frame
    hashed = {c: output_hashes(frame.get_column(c), config.row_match_float_decimals) for c in frame.columns}
    pairs = _pairs(table, hashed, sketch, config)
    need = max(config.row_match_min_columns, 2)
    if len({p.output for p in pairs}) < 2:
        return {}
    keys = pl.DataFrame([_key(hashed[p.output], p).alias(f"p{i}") for i, p in enumerate(pairs)])
    cohort = pl.DataFrame([row_hashes(path, c, config.row_match_float_decimals).alias(c)
                           for c in dict.fromkeys(p.cohort.name for p in pairs)])
    order = {name: i for i, name in enumerate(frame.columns)}
    found: dict[int, str] = {}
    # rows matching on enough columns, then narrow tables' rare pairs: each judged against chance
    groups = [_combinations(pairs, need)]
    if config.row_match_rare_pair_max > 0:
        groups.append(_combinations(pairs, 2))
    for combos in groups:
        observed = _matches(keys, cohort, pairs, combos, config, order)
        named = {row: what for row, (what, by_name) in observed.items() if by_name}
        by_value = {row: what for row, (what, by_name) in observed.items() if not by_name}
        if by_value and frame.height >= SMALL_TABLE:
            shifted = _matches(_shifted(keys, pairs), cohort, pairs, combos, config, order)
            chance = sum(1 for _, by_name in shifted.values() if not by_name)
            if len(by_value) < config.row_match_chance_factor * chance + 2:
                by_value = {}
        elif by_value and combos and len(combos[0]) < need:
            by_value = {}  # too few rows to tell a rare pair from chance
        for row, what in {**by_value, **named}.items():
            found.setdefault(row, what)
    return found


def _pairs(table: FoundTable, hashed, sketch: TableSketch, config: ChecksConfig) -> list[Pair]:
    pairs = []
    for column, (numbers, texts) in hashed.items():
        samples = {NUMBER: _sample(numbers), "text": _sample(texts)}
        found = []
        for cohort in sketch.columns:
            if cohort.distinct < config.row_match_min_distinct:
                continue  # a grouping column: matching it says nothing about a person
            sample = samples[NUMBER] if cohort.kind == NUMBER else samples["text"]
            named = table.named and column.strip().lower() == cohort.name.strip().lower()
            if not sample.size and not named:
                continue
            containment = float(cohort.contains(sample).mean()) if sample.size else 0.0
            if named or containment >= config.row_match_min_containment:
                found.append(Pair(column, cohort, named, containment))
        found.sort(key=lambda p: (not p.named, -p.containment, -p.cohort.distinct))
        pairs += found[:CANDIDATES_PER_COLUMN]
    pairs.sort(key=lambda p: (not p.named, -p.containment))
    return pairs[:MAX_PAIRS]


def _sample(hashes: pl.Series) -> np.ndarray:
    """Up to SAMPLE of the column's distinct hashes: the smallest (a bottom-k sample)."""
    distinct = hashes.drop_nulls().unique()
    return distinct.sort().head(SAMPLE).to_numpy()


def _key(hashed: tuple[pl.Series, pl.Series], pair: Pair) -> pl.Series:
    return hashed[0] if pair.cohort.kind == NUMBER else hashed[1]


def _combinations(pairs: list[Pair], size: int) -> list[tuple[int, ...]]:
    found = []
    for combo in combinations(range(len(pairs)), size):
        chosen = [pairs[i] for i in combo]
        if len({p.output for p in chosen}) == size and len({p.cohort.name for p in chosen}) == size:
            found.append(combo)
            if len(found) >= MAX_COMBINATIONS:
                break
    return found


def _matches(keys: pl.DataFrame, cohort: pl.DataFrame, pairs: list[Pair], combos, config: ChecksConfig,
             order: dict[str, int]):
    """row -> (what it matched, whether every column of the match was paired by name)."""
    need = max(config.row_match_min_columns, 2)
    rows = keys.with_row_index("__row")
    found: dict[int, tuple[str, bool]] = {}
    for combo in combos:
        chosen = [pairs[i] for i in combo]
        left = rows.select("__row", *[f"p{i}" for i in combo]).drop_nulls()
        left = left.filter(~pl.col("__row").is_in(pl.Series(list(found), dtype=pl.UInt32).implode()))
        if not left.height:
            continue
        names = [p.cohort.name for p in chosen]
        right = cohort.select(names).drop_nulls()
        on = dict(zip([f"p{i}" for i in combo], names, strict=True))
        if len(combo) >= need:
            right = right.unique()
            what = "a row on "
        else:
            right = _rare_pairs(right, names, config)
            if right is None:
                continue  # the cohort's pairs of these columns are not nearly unique
            what = "a rare pair of "
        hit = left.join(right, left_on=list(on), right_on=list(on.values()), how="semi")
        shown = sorted(chosen, key=lambda p: order[p.output])
        described = what + ", ".join(
            f"'{p.output}'" if p.named else f"'{p.output}' as '{p.cohort.name}'" for p in shown
        )
        by_name = all(p.named for p in chosen) and len(combo) >= need
        for row in hit.get_column("__row").to_list():
            found[row] = (described, by_name)
    return found


def _rare_pairs(cohort: pl.DataFrame, names: list[str], config: ChecksConfig) -> pl.DataFrame | None:
    """The cohort's pairs of two columns occurring at most row_match_rare_pair_max times, if such
    pairs are at least row_match_pair_uniqueness of the cohort's rows; else None."""
    counted = cohort.group_by(names).len()
    rare = counted.filter(pl.col("len") <= config.row_match_rare_pair_max)
    if not cohort.height or rare.get_column("len").sum() < config.row_match_pair_uniqueness * cohort.height:
        return None
    return rare.drop("len")


def _shifted(keys: pl.DataFrame, pairs: list[Pair]) -> pl.DataFrame:
    """Each output column's values moved down by a different number of rows (wrapping round)."""
    height = keys.height
    outputs = list(dict.fromkeys(p.output for p in pairs))
    step = max(height // (len(outputs) + 1), 1)
    index = np.arange(height)
    columns = []
    for i, pair in enumerate(pairs):
        by = (outputs.index(pair.output) + 1) * step % height
        columns.append(keys.get_column(f"p{i}").gather((index + by) % height))
    return pl.DataFrame(columns)


RULE = RowLevelDataRule()
