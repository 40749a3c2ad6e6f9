"""Finding participant identifiers in a table or a text, fast.

An identifier is an opaque string. A cell matches when, with surrounding
whitespace removed, it equals an identifier, or when one of its tokens does. A
token is a maximal run of word characters (ASCII letters, digits, '_') plus any
other non-space character that occurs in the identifiers themselves, the same
"whole word" idea as `grep -w`: "4810327" is found in "id 4810327;" and in
"4810327.0", never in "14810327" or "A4810327".

Speed: one polars pass over every column (multithreaded, no Python per cell)
does the whole-cell lookup in a hash set of the identifiers, and finds the few
cells that need tokenising: cells that hold a separator AND a run of
identifier characters as long as the shortest identifier. Only those are split
into tokens and looked up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from .latest import BuiltForLatest

WORD_CHARS = "A-Za-z0-9_"


@dataclass(frozen=True)
class IdentifierIndex:
    values: pl.DataFrame  # one column "value": the distinct identifiers
    token: str  # regex of one token
    candidate: str  # regex of cells that may hold an identifier as one of several tokens
    spaced: bool  # some identifier contains whitespace: compare trimmed cells

    @classmethod
    def build(cls, identifiers: frozenset[str]) -> IdentifierIndex:
        values = pl.Series("value", list(identifiers), dtype=pl.String).str.strip_chars().unique()
        values = values.filter(values != "")
        chars = set("".join(values.to_list()))
        extra = "".join(
            re.escape(c) for c in sorted(chars) if not (c.isascii() and (c.isalnum() or c == "_")) and not c.isspace()
        )
        token_class = WORD_CHARS + extra
        id_class = "".join(re.escape(c) for c in sorted(chars) if not c.isspace()) or "_"
        shortest = int(values.str.len_chars().min() or 1) if values.len() else 1
        run = f"[{id_class}]{{{shortest}}}"
        # a run of identifier characters as long as the shortest identifier, with a
        # separator somewhere before or after it (cells that are one token are
        # already compared whole)
        candidate = f"[^{token_class}][{token_class}]*{run}|{run}[{token_class}]*[^{token_class}]"
        return cls(
            values=values.to_frame(),
            token=f"[{token_class}]+",
            candidate=candidate,
            spaced=any(c.isspace() for c in chars),
        )


# The index of a set, rebuilt only when a different set object is passed.
index_for = BuiltForLatest(IdentifierIndex.build)
clear_cache = index_for.clear


@dataclass(frozen=True)
class Matches:
    cells: pl.DataFrame  # row (0-based), column (0-based), whole (cell equals an identifier), sorted
    header_columns: tuple[int, ...]  # 0-based columns whose name holds an identifier

    @property
    def total(self) -> int:
        return self.cells.height + len(self.header_columns)


def find_in_table(frame: pl.DataFrame, identifiers: frozenset[str]) -> Matches:
    """Every cell (and column name) of `frame` that equals or holds an identifier."""
    index = index_for(identifiers)
    header = tuple(i for i, name in enumerate(frame.columns) if _text_matches(name, index, identifiers))
    if not frame.width or not frame.height or not index.values.height:
        return Matches(_empty(), header)
    names = [f"c{i}" for i in range(frame.width)]
    strings = frame.select(
        [pl.col(old).cast(pl.String).alias(new) for old, new in zip(frame.columns, names, strict=True)]
    )
    candidates = strings.select([pl.col(n).str.contains(index.candidate).fill_null(False) for n in names])
    parts = []
    for position, name in enumerate(names):
        cell = pl.col(name).str.strip_chars() if index.spaced else pl.col(name)
        whole = (
            strings.select(cell.alias("value"))
            .with_row_index("row")
            .join(index.values, on="value", how="semi")
            .get_column("row")
        )
        if whole.len():
            parts.append(_rows(whole, position, True))
        maybe = candidates.get_column(name)
        if maybe.any():
            rows = maybe.arg_true()
            tokens = (
                pl.DataFrame({"row": rows, "cell": strings.get_column(name).gather(rows)})
                .with_columns(pl.col("cell").str.extract_all(index.token))
                .explode("cell")
                .join(index.values, left_on="cell", right_on="value", how="semi")
            )
            if tokens.height:
                parts.append(_rows(tokens.get_column("row").unique(), position, False))
    if not parts:
        return Matches(_empty(), header)
    cells = pl.concat(parts).unique(["row", "column"], keep="first").sort("row", "column")
    return Matches(cells, header)


def find_in_text(text: str, identifiers: frozenset[str]) -> Matches:
    """Identifiers in a text, by line: row n of the result is line n+1."""
    lines = pl.DataFrame({"line": text.split("\n")}, schema={"line": pl.String})
    return find_in_table(lines, identifiers) if text else Matches(_empty(), ())


def _text_matches(text: str, index: IdentifierIndex, identifiers: frozenset[str]) -> bool:
    return text.strip() in identifiers or any(t in identifiers for t in re.findall(index.token, text))


def _rows(rows: pl.Series, column: int, whole: bool) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row": rows.cast(pl.UInt32),
            "column": pl.Series([column] * rows.len(), dtype=pl.UInt32),
            "whole": pl.Series([whole] * rows.len(), dtype=pl.Boolean),
        }
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"row": pl.UInt32, "column": pl.UInt32, "whole": pl.Boolean})


def redact(text: str, identifiers: frozenset[str]) -> str:
    """`text` with every identifier token replaced by [identifier] (for error messages)."""
    if not identifiers:
        return text
    index = index_for(identifiers)
    return re.sub(index.token, lambda m: "[identifier]" if m.group(0) in identifiers else m.group(0), text)
