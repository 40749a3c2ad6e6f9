"""Sketches of cohort tables: each column's set of hashed values, to match output columns by value.

A sketch of one Parquet table holds, per column, the sorted distinct hashes
of its values (values.py) and their number. It is built once per extract
table: written by the host when the extract is materialised (egress_review.integration)
into a folder beside the extract, `<extract>.sketch/<table path>.npz`, which
is not mounted into workspaces and not part of the extract's manifest. For an
extract made before sketches existed, or a sketch that no longer fits its
table, the sketch is built on first use and kept in memory. A sketch names
its table by size and a digest of the Parquet footer, and records the
rounding and the polars version (whose hash function it used); a sketch that
does not fit is never used.

The row-level check also needs a cohort column's hash per row (to confirm a
match row by row); those are computed from the table on demand and cached.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from .values import cohort_hashes, cohort_kind

FORMAT = 1
SUFFIX = ".sketch"  # the sketch folder of extract folder X is X.sketch, beside it
FOOTER_BYTES = 64 * 1024
SEARCH_DEPTH = 6  # folders above a table searched for an extract's sketch folder
CACHED_SKETCHES = 64
CACHED_COLUMNS = 16


@dataclass(frozen=True)
class ColumnSketch:
    name: str
    kind: str  # values.NUMBER or values.TEXT
    distinct: int
    hashes: np.ndarray  # sorted distinct uint64 hashes of the non-null values

    def contains(self, sample: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `sample` (uint64 hashes) are values of this column."""
        if not self.hashes.size or not sample.size:
            return np.zeros(sample.shape, dtype=bool)
        at = np.searchsorted(self.hashes, sample)
        return self.hashes[np.minimum(at, self.hashes.size - 1)] == sample


@dataclass(frozen=True)
class TableSketch:
    fingerprint: str
    decimals: int
    rows: int
    columns: tuple[ColumnSketch, ...]

    @classmethod
    def build(cls, table: Path, decimals: int) -> TableSketch:
        frame = pl.read_parquet(table)
        columns = []
        for name in frame.columns:
            series = frame.get_column(name)
            hashes = cohort_hashes(series, decimals).drop_nulls().unique().sort().to_numpy()
            columns.append(
                ColumnSketch(
                    name, cohort_kind(series.dtype), int(hashes.size), np.ascontiguousarray(hashes, dtype=np.uint64)
                )
            )
        return cls(fingerprint(table), decimals, frame.height, tuple(columns))

    def save(self, path: Path) -> None:
        meta = {
            "format": FORMAT,
            "polars": pl.__version__,
            "fingerprint": self.fingerprint,
            "decimals": self.decimals,
            "rows": self.rows,
            "columns": [{"name": c.name, "kind": c.kind, "distinct": c.distinct} for c in self.columns],
        }
        arrays = {f"c{i}": c.hashes for i, c in enumerate(self.columns)}
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        with open(partial, "wb") as out:
            np.savez(out, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> TableSketch | None:
        """The saved sketch, or None if it was made by another format or polars version."""
        with np.load(path, allow_pickle=False) as saved:
            meta = json.loads(saved["meta"].tobytes())
            if meta.get("format") != FORMAT or meta.get("polars") != pl.__version__:
                return None
            columns = tuple(
                ColumnSketch(c["name"], c["kind"], int(c["distinct"]), saved[f"c{i}"])
                for i, c in enumerate(meta["columns"])
            )
        return cls(meta["fingerprint"], int(meta["decimals"]), int(meta["rows"]), columns)


def fingerprint(table: Path) -> str:
    """Size and a digest of the Parquet footer (row group offsets, statistics): cheap, and
    different for different table contents."""
    with open(table, "rb") as source:
        source.seek(0, 2)
        size = source.tell()
        source.seek(max(size - FOOTER_BYTES, 0))
        digest = hashlib.sha256(source.read()).hexdigest()[:32]
    return f"{size}:{digest}"


def sketch_folder(extract: Path) -> Path:
    return Path(extract).with_name(Path(extract).name + SUFFIX)


def sidecar(table: Path) -> Path | None:
    """The saved sketch of `table` if one of its folders has a sketch folder beside it."""
    table = Path(table)
    for ancestor in [a for a in table.parents if a.name][:SEARCH_DEPTH]:
        candidate = sketch_folder(ancestor) / (table.relative_to(ancestor).as_posix() + ".npz")
        if candidate.is_file():
            return candidate
    return None


def write_sketches(extract: Path, decimals: int = 6, into: Path | None = None) -> list[Path]:
    """Build and save the sketch of every Parquet table of an extract folder (into its sketch folder,
    or `into`, which is then renamed to it)."""
    extract = Path(extract)
    folder = Path(into) if into is not None else sketch_folder(extract)
    written = []
    for table in sorted(p for p in extract.rglob("*.parquet") if p.is_file()):
        out = folder / (table.relative_to(extract).as_posix() + ".npz")
        TableSketch.build(table, decimals).save(out)
        written.append(out)
    return written


_lock = threading.Lock()
_sketches: OrderedDict[tuple, TableSketch] = OrderedDict()
_columns: OrderedDict[tuple, pl.Series] = OrderedDict()


def sketch_of(table: Path, decimals: int) -> TableSketch:
    """The table's sketch: saved beside its extract if it fits, else built now; kept in memory."""
    table = Path(table)
    stat = table.stat()
    key = (str(table.resolve()), stat.st_size, stat.st_mtime_ns, decimals)
    with _lock:
        if key in _sketches:
            _sketches.move_to_end(key)
            return _sketches[key]
    found = None
    saved = sidecar(table)
    if saved is not None:
        try:
            found = TableSketch.load(saved)
        except (OSError, ValueError, KeyError):
            found = None
        if found is not None and (found.fingerprint != fingerprint(table) or found.decimals != decimals):
            found = None
    if found is None:
        found = TableSketch.build(table, decimals)
    _remember(_sketches, key, found, CACHED_SKETCHES)
    return found


def row_hashes(table: Path, column: str, decimals: int) -> pl.Series:
    """The hash of `column`'s value in every row of the cohort table, in row order."""
    table = Path(table)
    stat = table.stat()
    key = (str(table.resolve()), stat.st_size, stat.st_mtime_ns, column, decimals)
    with _lock:
        if key in _columns:
            _columns.move_to_end(key)
            return _columns[key]
    values = pl.read_parquet(table, columns=[column]).get_column(column)
    hashes = cohort_hashes(values, decimals).alias(column)
    _remember(_columns, key, hashes, CACHED_COLUMNS)
    return hashes


def schema_names(table: Path) -> list[str]:
    return pq.read_schema(table).names


def clear_cache() -> None:
    with _lock:
        _sketches.clear()
        _columns.clear()


def _remember(cache: OrderedDict, key, value, limit: int) -> None:
    with _lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > limit:
            cache.popitem(last=False)
