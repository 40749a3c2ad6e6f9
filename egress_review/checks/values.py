"""Cell values in one comparable form, hashed: how an output cell and a cohort value are compared.

Both sides go through the same normalisation, so a column can be matched by
its values whatever it is called:

- numbers: the value rounded to `decimals` places (float32 cohort values
  through their shortest text, so 27.3145f matches "27.3145"), hashed with
  NUMBER_SEED;
- everything else: text trimmed and lower-cased, dates and midnight
  date-times as 'YYYY-MM-DD', other date-times as 'YYYY-MM-DD HH:MM:SS',
  hashed with TEXT_SEED.

An output cell gets both hashes (a cell '1970' may be a number or a code);
a cohort column has the one of its type. Hashes are polars' (64-bit); a
sketch saved on disk records the polars version that made it and is rebuilt
under another.
"""

from __future__ import annotations

import polars as pl

from .tables import null_like, numbers

NUMBER_SEED = 0x5EED_0001
TEXT_SEED = 0x5EED_0002
NUMBER, TEXT = "number", "text"
_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ t]00:00:00(?:\.0+)?$"
_DATE_TIME = r"^(\d{4}-\d{2}-\d{2})t(\d{2}:\d{2}:\d{2})(?:\.0+)?$"


def cohort_kind(dtype: pl.DataType) -> str:
    return NUMBER if dtype.is_numeric() and dtype != pl.Boolean else TEXT


def cohort_hashes(series: pl.Series, decimals: int) -> pl.Series:
    """UInt64 hash of each cohort value (null stays null), in the form of its type."""
    dtype = series.dtype
    if cohort_kind(dtype) == NUMBER:
        if dtype == pl.Float32:  # shortest float32 text, so 27.3145f matches "27.3145"
            series = series.cast(pl.String)
        return _number_hash(series.cast(pl.Float64), decimals)
    if isinstance(dtype, pl.Datetime):
        series = series.dt.strftime("%Y-%m-%d %H:%M:%S")
    return _text_hash(series.cast(pl.String), series.is_null())


def output_hashes(series: pl.Series, decimals: int) -> tuple[pl.Series, pl.Series]:
    """(number hash, text hash) of each output cell; null where the cell holds no such value."""
    empty = null_like(series)
    return _number_hash(numbers(series), decimals), _text_hash(series.cast(pl.String), empty)


def _number_hash(values: pl.Series, decimals: int) -> pl.Series:
    rounded = values.round(decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    return rounded.hash(seed=NUMBER_SEED).set(rounded.is_null(), None)


def _text_hash(series: pl.Series, empty: pl.Series) -> pl.Series:
    text = series.str.strip_chars().str.to_lowercase()
    timed = (text.str.len_bytes() >= 19) & (text.str.slice(4, 1) == "-")  # cheap test before the regexes
    if timed.any():
        rows = timed.fill_null(False).arg_true()
        fixed = text.gather(rows).str.replace(_MIDNIGHT, "$1").str.replace(_DATE_TIME, "$1 $2")
        text = text.scatter(rows, fixed)
    return text.hash(seed=TEXT_SEED).set(text.is_null() | empty.fill_null(True), None)
