"""Reading tables (CSV/TSV, Parquet) as strings, and reading numbers back out of cells."""

from __future__ import annotations

import io
import json

import polars as pl
import pyarrow.parquet as pq

from .kinds import FileKind

UTF8_BOM = b"\xef\xbb\xbf"

# cells meaning "no value" or "suppressed": neither numbers nor failures to parse one
NULL_TOKENS = [
    "", "na", "n/a", "nan", "null", "none", "-", "--", "*", "**", ".", "..", "...",
    "c", "x", "[c]", "[x]", "[z]", "suppressed", "redacted", "masked", "missing", "inf", "-inf",
]  # fmt: skip
_SUPPRESSED = r"^[<>≤≥]\s*=?\s*\d+(\.\d+)?$"  # "<5", "<= 10"
_THOUSANDS = r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$"  # "1,234"
_COUNT_WITH_PERCENT = r"^(\d{1,3}(?:,\d{3})+|\d+)\s*[\(\[]"  # "12 (3.4%)", "12 [3.4]"


class TableError(ValueError):
    """The file is of a table kind but cannot be read as one."""


def read_table(data: bytes, kind: FileKind, delimiter: str = ",") -> pl.DataFrame:
    if kind is FileKind.CSV:
        return _read_csv(data, delimiter or ",")
    if kind is FileKind.PARQUET:
        return _read_parquet(data)
    raise TableError(f"a {kind.value} file is not a table")


def _read_csv(data: bytes, delimiter: str) -> pl.DataFrame:
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data.strip():
        return pl.DataFrame()
    try:
        return pl.read_csv(
            io.BytesIO(data),
            separator=delimiter,
            has_header=True,
            infer_schema=False,
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise TableError(f"cannot read the table: {_first_line(exc)}") from None


def _read_parquet(data: bytes) -> pl.DataFrame:
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several unrelated types
        raise TableError(f"cannot read the Parquet file: {_first_line(exc)}") from None
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame.select([_as_strings(frame.get_column(name)) for name in frame.columns])


def _as_strings(series: pl.Series) -> pl.Series:
    if series.dtype == pl.String:
        return series
    try:
        return series.cast(pl.String)
    except Exception:  # nested or binary values: readable JSON-ish text instead
        return pl.Series(
            series.name,
            [None if v is None else json.dumps(v, default=str) for v in series.to_list()],
            dtype=pl.String,
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def null_like(series: pl.Series) -> pl.Series:
    """Boolean mask of cells that hold no value (empty, NA, suppression markers like '<5')."""
    stripped = series.cast(pl.String).str.strip_chars()
    return (
        stripped.is_null()
        | stripped.str.to_lowercase().is_in(pl.Series(NULL_TOKENS).implode())
        | stripped.str.contains(_SUPPRESSED)
    ).fill_null(True)


def numbers(series: pl.Series) -> pl.Series:
    """Float64 value of each cell that is a plain number ('1,234' included), else null."""
    stripped = series.cast(pl.String).str.strip_chars()
    plain = (
        pl.select(
            pl.when(stripped.str.contains(_THOUSANDS))
            .then(stripped.str.replace_all(",", "", literal=True))
            .otherwise(stripped)
        )
        .to_series()
        .cast(pl.Float64, strict=False)
    )
    return plain.set(plain.is_nan() | plain.is_infinite(), None).rename(series.name)


def counts(series: pl.Series) -> pl.Series:
    """Int64 count in each cell: a non-negative whole number, or the N of 'N (x%)'; else null."""
    stripped = series.cast(pl.String).str.strip_chars()
    value = numbers(series)
    whole = value.is_not_null() & (value >= 0) & (value == value.floor()) & (value < 2**62)
    direct = pl.select(pl.when(whole).then(value).otherwise(None)).to_series().cast(pl.Int64)
    with_percent = (
        stripped.str.extract(_COUNT_WITH_PERCENT, 1).str.replace_all(",", "", literal=True).cast(pl.Int64, strict=False)
    )
    return direct.fill_null(with_percent).rename(series.name)


def is_numeric(series: pl.Series) -> bool:
    """Every cell is a number or a null-like marker, and at least one is a number."""
    value = numbers(series)
    empty = null_like(series)
    return bool(value.is_not_null().any()) and bool((value.is_not_null() | empty).all())
