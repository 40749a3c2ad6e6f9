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
from ..structured import FoundTable
from ..subject import CheckedFile
from ..types import CheckContext, CheckResult, ChecksConfig, Finding, Verdict
from ..values import NUMBER, output_hashes

SAMPLE = 256  # distinct values of an output column compared with a cohort column's set (bottom-k)
CANDIDATES_PER_COLUMN = 2  # cohort columns an output column may stand for, per cohort table
MAX_PAIRS = 12
MAX_COMBINATIONS = 200
SAMPLE_ROWS = 4096  # rows of a long output table hashed to choose its cohort columns
SHIFTS = 4  # shifted copies of a table whose matches estimate chance
CHANCE_MARGIN = 3  # matches needed beyond row_match_chance_factor x chance
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
    columns are shifted against each other (four ways) and matched again, and the rows must
    match at least row_match_chance_factor times as often as the shifted ones on average, plus
    three (tables of 4 rows or more; smaller tables need row_match_min_columns columns)."""
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
        found = file.tables
        if not found:
            return self.result(context, Verdict.PASS, "no table in the file")
        config = context.config
        cohort = [(Path(p), sketch_of(Path(p), config.row_match_float_decimals)) for p in context.cohort_tables]
        matched: dict[str, tuple[FoundTable, int, str]] = {}  # place -> (table, row, description)
        for table in found:
            hashed = HashedTable(table.frame, config.row_match_float_decimals)
            for path, sketch in cohort:
                for row, what in matching_rows(table, hashed, path, sketch, config).items():
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


class HashedTable:
    """An output table's cell hashes, computed once: a sample of rows for pairing, whole columns for joins."""

    def __init__(self, frame: pl.DataFrame, decimals: int):
        self.frame, self.decimals = frame, decimals
        if frame.height > SAMPLE_ROWS:  # evenly spaced rows: enough to tell which cohort column it is
            frame = frame.gather(np.linspace(0, frame.height - 1, SAMPLE_ROWS).astype(np.int64))
        self.samples = {c: tuple(map(_sample, output_hashes(frame.get_column(c), decimals))) for c in frame.columns}
        self._columns: dict[str, tuple[pl.Series, pl.Series]] = {}

    def column(self, name: str) -> tuple[pl.Series, pl.Series]:
        if name not in self._columns:
            self._columns[name] = output_hashes(self.frame.get_column(name), self.decimals)
        return self._columns[name]


def matching_rows(
    table: FoundTable, hashed: HashedTable, path: Path, sketch: TableSketch, config: ChecksConfig
) -> dict[int, str]:
    """0-based rows of `table` reproducing rows of one cohort table -> what they match on."""
    frame = table.frame
    pairs = _pairs(table, hashed, sketch, config)
    need = max(config.row_match_min_columns, 2)
    if len({p.output for p in pairs}) < 2:
        return {}
    keys = pl.DataFrame([_key(hashed.column(p.output), p).alias(f"p{i}") for i, p in enumerate(pairs)])
    full = pl.DataFrame(
        [
            row_hashes(path, c, config.row_match_float_decimals).alias(c)
            for c in dict.fromkeys(p.cohort.name for p in pairs)
        ]
    )
    # per pair, the cohort rows holding one of the output column's values (shifting the output's
    # columns does not change their values): a combination is joined on the rows holding all of its
    masks = full.select(
        [
            pl.col(p.cohort.name)
            .is_in(keys.get_column(f"p{i}").drop_nulls().unique().implode())
            .fill_null(False)
            .alias(f"m{i}")
            for i, p in enumerate(pairs)
        ]
    )
    cohort = _Cohort(path, pl.concat([full, masks], how="horizontal"), full)
    order = {name: i for i, name in enumerate(frame.columns)}
    shifts = _shifted(keys, pairs) if frame.height >= SMALL_TABLE else []
    combos = _combinations(pairs, need)
    if config.row_match_rare_pair_max > 0 and need > 2:
        combos += _combinations(pairs, 2)
    found: dict[int, str] = {}
    memo: dict = {}
    for combo in combos:  # each kind of match is judged against chance on its own
        observed = _matches(keys, cohort, pairs, combo, config, order, memo)
        if not observed:
            continue
        what, by_name = observed.pop("what")
        if not by_name:
            if not shifts:
                if len(combo) < need:
                    continue  # too few rows to tell a rare pair from chance
            else:
                chance = sum(
                    max(len(_matches(s, cohort, pairs, combo, config, order, memo)) - 1, 0) for s in shifts
                ) / len(shifts)
                if len(observed) < config.row_match_chance_factor * chance + CHANCE_MARGIN:
                    continue
        for row in observed:
            found.setdefault(row, what)
    return found


def _pairs(table: FoundTable, hashed: HashedTable, sketch: TableSketch, config: ChecksConfig) -> list[Pair]:
    pairs = []
    for column, (numbers, texts) in hashed.samples.items():
        samples = {NUMBER: numbers, "text": texts}
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


def _matches(
    keys: pl.DataFrame,
    cohort: pl.DataFrame,
    pairs: list[Pair],
    combo: tuple[int, ...],
    config: ChecksConfig,
    order: dict[str, int],
    memo: dict,
) -> dict:
    """Rows matching one combination of pairs: {row: True, ..., "what": (description, by name)}; {} if none."""
    need = max(config.row_match_min_columns, 2)
    chosen = [pairs[i] for i in combo]
    left = keys.select([f"p{i}" for i in combo]).with_row_index("__row").drop_nulls()
    if not left.height:
        return {}
    names = [p.cohort.name for p in chosen]
    on = dict(zip([f"p{i}" for i in combo], names, strict=True))
    if tuple(names) not in memo:  # the cohort side is the same for the observed and the shifted rows
        right = cohort.rows.filter(pl.all_horizontal([f"m{i}" for i in combo])).select(names).drop_nulls()
        if len(combo) >= need:
            memo[tuple(names)] = right.unique()
        elif _pair_uniqueness(cohort, names, config.row_match_rare_pair_max) < config.row_match_pair_uniqueness:
            memo[tuple(names)] = None
        else:  # a pair's count among the possible rows is its count in the cohort (all its rows are there)
            memo[tuple(names)] = (
                right.group_by(names).len().filter(pl.col("len") <= config.row_match_rare_pair_max).drop("len")
            )
    right = memo[tuple(names)]
    if len(combo) >= need:
        what = "a row on "
    else:
        if right is None:
            return {}  # the cohort's pairs of these columns are not nearly unique
        what = "a rare pair of "
    hit = left.join(right, left_on=list(on), right_on=list(on.values()), how="semi").get_column("__row")
    if not hit.len():
        return {}
    shown = sorted(chosen, key=lambda p: order[p.output])
    described = what + ", ".join(f"'{p.output}'" if p.named else f"'{p.output}' as '{p.cohort.name}'" for p in shown)
    by_name = all(p.named for p in chosen) and len(combo) >= need
    return {**dict.fromkeys(hit.to_list(), True), "what": (described, by_name)}


@dataclass(frozen=True)
class _Cohort:
    path: Path
    rows: pl.DataFrame  # every row's hashes, and per pair i a mask m<i>: the row can match the output
    full: pl.DataFrame  # every row


_uniqueness: dict[tuple, float] = {}


def clear_cache() -> None:
    """Forget the cohort pairs' uniqueness (benchmarks time a cold start)."""
    _uniqueness.clear()


def _pair_uniqueness(cohort: _Cohort, names: list[str], rare: int) -> float:
    """Share of the cohort's rows whose pair of values in two columns occurs at most `rare` times (cached)."""
    stat = cohort.path.stat()
    key = (str(cohort.path), stat.st_size, stat.st_mtime_ns, tuple(names), rare)
    if key not in _uniqueness:
        counted = cohort.full.select(names).drop_nulls().group_by(names).len()
        rows = int(counted.filter(pl.col("len") <= rare).get_column("len").sum())
        if len(_uniqueness) > 4096:
            _uniqueness.clear()
        _uniqueness[key] = rows / max(cohort.full.height, 1)
    return _uniqueness[key]


def _shifted(keys: pl.DataFrame, pairs: list[Pair]) -> list[pl.DataFrame]:
    """Up to SHIFTS copies of the keys with each output column's values moved down by a different
    number of rows (wrapping round): the same values, no longer side by side as in the file."""
    height = keys.height
    outputs = list(dict.fromkeys(p.output for p in pairs))
    index = np.arange(height)
    copies = []
    for shift in range(1, SHIFTS + 1):
        step = max(height * shift // (len(outputs) * SHIFTS + 1), 1)
        moves = [(outputs.index(p.output) + 1) * step % height for p in pairs]
        if len({m for m in moves}) < 2:
            continue  # every column moved alike: the rows would still be side by side
        copies.append(
            pl.DataFrame([keys.get_column(f"p{i}").gather((index + by) % height) for i, by in enumerate(moves)])
        )
    return copies


RULE = RowLevelDataRule()
