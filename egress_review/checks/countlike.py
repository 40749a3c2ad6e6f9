"""Which columns of a table hold counts of people (used by small_counts and differencing).

A column is count-like when
1. a word of its name says so (n, count, freq, total, cases, number, patients, ...):
   its whole-number cells are counts, whatever else the column holds; or else
2. no word of its name says it is something else (id, code, year, age, rank,
   mean, percent, ...; see NOT_COUNT_WORDS), and every cell is a non-negative
   whole number (or 'N (x%)', or a null/suppression marker such as '<5' or '*'),
   and the column is not all years (1800-2100) and not a row index (1..n or
   0..n-1 in order). This catches cross-tabulations whose columns are
   category levels ("male", "female", "2019").
Words are split at non-letters and at camelCase humps: "n_cases" -> n, cases.
"""

from __future__ import annotations

import re

import polars as pl

from .tables import counts, null_like

COUNT_WORDS = frozenset(
    """n count counts cnt freq frequency frequencies total totals case cases number num
    numbers events deaths patients people persons participants individuals subjects
    obs observations numerator denominator admissions births respondents records
    users members contributors""".split()
)
NOT_COUNT_WORDS = frozenset(
    """id ids eid pid uid identifier code codes year years yr yyyy age ages month
    months day days week weeks date dob time duration hours minutes seconds decile
    deciles quintile quartile tertile centile percentile rank ranking index idx
    level grade stage band group category cat class type postcode zip region
    area district sex gender flag version order position pos chr chromosome row
    line seq sequence pct percent percentage prop proportion rate ratio mean
    median average avg sd se std stdev var variance ci lower upper lci uci lo hi
    min max minimum maximum range iqr p pval pvalue or hr rr beta coef estimate
    est z t score bmi weight height dose unnamed""".split()
)
YEARS = (1800, 2100)


def name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z]+", spaced.lower()) if w]


def count_columns(frame: pl.DataFrame) -> list[str]:
    """Names of the count-like columns, in table order."""
    return [name for name in frame.columns if is_count_column(frame.get_column(name))]


def is_count_column(series: pl.Series) -> bool:
    words = set(name_words(series.name))
    if words & COUNT_WORDS:
        return True
    if not words or words & NOT_COUNT_WORDS:
        return False
    values = counts(series)
    present = values.is_not_null()
    if not present.any() or not (present | null_like(series)).all():
        return False
    found = values.drop_nulls()
    if found.min() >= YEARS[0] and found.max() <= YEARS[1]:
        return False
    return not _is_row_index(values)


def _is_row_index(values: pl.Series) -> bool:
    if values.len() < 3 or values.null_count():
        return False
    first = values[0]
    return first in (0, 1) and values.equals(
        pl.int_range(first, first + values.len(), eager=True, dtype=pl.Int64).rename(values.name)
    )
