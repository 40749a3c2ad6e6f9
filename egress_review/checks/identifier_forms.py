"""Participant identifiers written in another form: the transforms an analyst could undo by hand.

Cell and line forms (one polars pass per form, on tokens):
- hexadecimal ('0x3fd2a9c41b7e2', '3FD2A9C41B7E2');
- digits with separators inside ('1 1 2 3 4 ...', '1,123,456,789,012,345', '11-2345-6789');
- digits reversed, and leading zeros added.
Column forms (numbers of one column, or every long number of a text in order):
- a constant scale (x2..x10, x100, x1000, x10^6, their inverses, negation);
- a constant offset, found from a few values: if v - k is an identifier for
  three values of the column, k is the offset, and every value is tested.
Only identifiers that are whole numbers take part in the column forms.
Findings never show the identifier or the offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .latest import BuiltForLatest

_HEX = r"(?i)\b(?:0x)?[0-9a-f]{8,16}\b"
_SEPARATED = r"\d{1,6}(?:[ ,._'’:/-]\d{1,6}){2,}"
_LONG_DIGITS = r"\d{8,24}"
_LONG_NUMBER = r"[-+]?\d{7,}(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\d\.\d+[eE]\+?\d+"
SCALES = (-1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 100.0, 1000.0, 1e6, 1 / 2, 1 / 10, 1 / 100, 1 / 1000, 1 / 1e6)
MIN_MAGNITUDE = 1e9  # a column is searched for offsets when its values are this large or more
ANCHORS = 2  # values tried as "this one is an identifier plus k"
TRIES = 3  # other values tried with each anchor


@dataclass(frozen=True)
class FormMatch:
    row: int  # 0-based row (or line) of the cell
    column: int  # 0-based column, -1 for text
    form: str  # "hexadecimal", "digits with separators", "offset", "scale x10", ...


@dataclass(frozen=True)
class NumericIdentifiers:
    text: pl.DataFrame  # column "value": every identifier as text
    numbers: np.ndarray  # sorted int64 of the identifiers that are whole numbers
    shortest_form: int  # fewest characters any form of an identifier takes (its hexadecimal digits)


def _numeric_identifiers(identifiers: frozenset[str]) -> NumericIdentifiers:
    text = pl.Series("value", list(identifiers), dtype=pl.String).str.strip_chars().unique()
    numbers = text.str.to_integer(strict=False).drop_nulls().unique().sort().to_numpy().astype(np.int64)
    shortest = int(text.str.len_chars().min() or 0) if text.len() else 0
    return NumericIdentifiers(text.to_frame(), numbers, max(int(shortest * 0.8), 1))  # log16(10) ~ 0.83


numeric_identifiers = BuiltForLatest(_numeric_identifiers)
clear_cache = numeric_identifiers.clear  # benchmarks time a cold start


def token_forms(cells: pl.DataFrame, identifiers: frozenset[str]) -> list[FormMatch]:
    """Cells (every column String) holding an identifier in hex, with separators, reversed or zero-padded."""
    index = numeric_identifiers(identifiers)
    found: list[FormMatch] = []
    forms = (
        (
            "hexadecimal",
            _HEX,
            lambda t: t.str.replace(r"(?i)^0x", "").str.to_integer(base=16, strict=False).cast(pl.String),
        ),
        ("digits with separators", _SEPARATED, lambda t: t.str.replace_all(r"\D", "")),
        ("digits reversed", _LONG_DIGITS, lambda t: t.str.reverse()),
        ("leading zeros", r"\b0+\d{7,}\b", lambda t: t.str.strip_chars_start("0")),
    )
    for position, name in enumerate(cells.columns):
        column = cells.get_column(name)
        if not (column.str.len_chars() >= index.shortest_form).any():
            continue  # no cell long enough to hold an identifier in any form
        for form, pattern, undo in forms:
            tokens = (
                pl.DataFrame({"row": pl.arange(0, column.len(), eager=True, dtype=pl.UInt32), "t": column})
                .filter(pl.col("t").str.contains(pattern))
                .with_columns(pl.col("t").str.extract_all(pattern))
                .explode("t")
            )
            if not tokens.height:
                continue
            tokens = tokens.with_columns(undo(pl.col("t")).alias("value"))
            hit = tokens.join(index.text, on="value", how="semi").get_column("row").unique().sort()
            found += [FormMatch(row, position, form) for row in hit.to_list()]
    return found


def column_forms(values: pl.Series, identifiers: frozenset[str]) -> tuple[str, list[int]]:
    """(form, 0-based rows) of a column whose numbers are identifiers scaled or offset; ("", []) if none."""
    index = numeric_identifiers(identifiers)
    if not index.numbers.size:
        return "", []
    numbers = values.cast(pl.Float64, strict=False).to_numpy()
    present = ~np.isnan(numbers)
    lowest = float(np.abs(index.numbers).min()) * min(abs(s) for s in SCALES)
    if not (present & (np.abs(np.nan_to_num(numbers)) >= min(lowest, MIN_MAGNITUDE))).any():
        return "", []  # no number large enough to be an identifier, scaled or offset
    for scale in SCALES:
        unscaled = _whole(numbers / scale)
        rows = np.flatnonzero(present & _member(unscaled, index.numbers))
        if rows.size:
            return f"scaled by {scale:g}", rows.tolist()
    whole = _whole(numbers)
    usable = present & (np.abs(numbers) >= MIN_MAGNITUDE) & (whole != _MISSING)
    distinct = list(dict.fromkeys(whole[usable].tolist()))
    if len(distinct) < 3 or usable.sum() < 0.8 * present.sum():
        return "", []
    offset = _offset(distinct, index.numbers)
    if offset is None or offset == 0:
        return "", []
    rows = np.flatnonzero(usable & _member(whole - offset, index.numbers))
    return ("constant offset", rows.tolist()) if rows.size >= 3 else ("", [])


_MISSING = np.iinfo(np.int64).min


def _whole(values: np.ndarray) -> np.ndarray:
    """Each value as an int64 when it is within rounding of a whole number, else _MISSING."""
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = np.round(values)
        tolerance = np.where(np.abs(values) > 1e12, 0.3, 1e-6)
        ok = np.isfinite(values) & (np.abs(values - rounded) <= tolerance) & (np.abs(rounded) < 9e18)
        out = np.full(values.shape, _MISSING, dtype=np.int64)
        out[ok] = rounded[ok].astype(np.int64)
    return out


def _member(values: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    at = np.minimum(np.searchsorted(sorted_ids, values), sorted_ids.size - 1)
    return (sorted_ids[at] == values) & (values != _MISSING)


def _offset(distinct: list[int], ids: np.ndarray) -> int | None:
    """k such that v - k is an identifier for an anchor and two other values, if one exists."""
    for a, anchor in enumerate(distinct[:ANCHORS]):
        candidates = anchor - ids  # every k for which the anchor is an identifier plus k
        others = [v for i, v in enumerate(distinct) if i != a][: TRIES + 2]
        for v in others[:TRIES]:
            kept = candidates[_member(v - candidates, ids)]
            if kept.size:
                for k in kept.tolist():
                    confirmed = sum(1 for w in others if w != v and _member(np.array([w - k]), ids)[0])
                    if confirmed >= 1:
                        return int(k)
    return None
