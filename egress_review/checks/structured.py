"""Every table a file can carry, whatever its format: what the row-level check reads.

- CSV/TSV and Parquet: the table itself, and its transpose when it is wider
  than it is long (a transposed table has records as columns).
- JSON: arrays of records ([{..}, ..]), objects of arrays ({"a": [..], ..}),
  objects of objects (pandas' orient="columns"/"index"), {"columns", "data"}
  (orient="split") and arrays of arrays, found anywhere in the document.
- Text (.txt, .log, .md): JSON records one per line, and delimited lines: each
  line is split at its most frequent delimiter (tab, '|', ',', ';'), at
  'key=value' pairs, or at runs of spaces (printed data frames); lines with the
  same delimiter and the same number of fields form one table, wherever they
  are in the file, so a log's scattered lines are read together. A 'prefix:'
  or 'key=' before a field's value, and a log line's prefix before
  its first field, are dropped.

Everything is vectorised with polars except JSON decoding. Rows keep where
they came from (row, line, record, column) for the findings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from .kinds import FileKind
from .subject import CheckedFile

MAX_TABLES = 40  # tables taken from one file (largest first)
MAX_FIELDS = 512  # lines with more fields are not read as table rows (a payload check's business)
MAX_TRANSPOSE_ROWS = 2_000  # only short, wide tables are also read transposed
JSON_DEPTH = 6
_DELIMITERS = ("\t", "|", ",", ";")
_KEY_VALUE = r"[A-Za-z_][\w.]*\s*=\s*[^\s,;|&]+"
_KEY_PREFIX = r"^\s*[A-Za-z_][\w.]*\s*[:=]\s*"  # 'bmi: ', 'id=' before a value
_LINE_PREFIX = r"^.*[\s:=]"  # '2024-01-01 10:00 INFO row: ' before a line's first value
_JSON_LINE = r"^\{.*\}$"
_NUMBERISH = r"(?:^|\s)[-+]?\d[\d.,:/eE+-]*(?:\s|$)"


@dataclass(frozen=True)
class FoundTable:
    frame: pl.DataFrame  # every column String
    source: str  # what it is, for findings: "table", "transposed table", "delimited lines", ...
    unit: str  # what a row of `frame` is in the file: "row", "line", "record", "column"
    places: pl.Series | None = None  # 1-based number of each row's place (None: row index + 1)
    named: bool = True  # column names come from the file (not generated)

    def place(self, row: int) -> str:
        number = row + 1 if self.places is None else int(self.places[row])
        return f"{self.unit} {number}"


def tables_in(file: CheckedFile) -> list[FoundTable]:
    if file.kind.is_table:
        found = [FoundTable(file.table, "table", "row")]
        if file.kind is FileKind.CSV and "{" in file.text:  # JSON lines have as many commas: they sniff as CSV
            found += _json_lines(_lines(file.text))
    elif file.kind is FileKind.JSON:
        found = list(_json_tables(file.json))
    elif file.kind is FileKind.TEXT:
        found = _text_tables(file.text)
    else:
        found = []
    found = [t for t in found if t.frame.height and t.frame.width]
    found += [t for t in map(_transposed, found) if t is not None]
    found.sort(key=lambda t: -t.frame.height * t.frame.width)
    return found[:MAX_TABLES]


def _transposed(table: FoundTable) -> FoundTable | None:
    frame = table.frame
    if frame.width <= frame.height or frame.height > MAX_TRANSPOSE_ROWS or table.unit == "column":
        return None
    flipped = frame.transpose(include_header=False)
    flipped = flipped.rename({c: f"c{i + 1}" for i, c in enumerate(flipped.columns)})
    return FoundTable(flipped.cast(pl.String), f"transposed {table.source}", "column", named=False)


# ---- JSON


def _json_tables(value, depth: int = 0) -> Iterator[FoundTable]:
    if depth > JSON_DEPTH:
        return
    if isinstance(value, list) and value:
        if all(isinstance(v, dict) for v in value[:1000]):
            yield _records(value, "JSON records")
        elif all(isinstance(v, list) for v in value[:1000]):
            yield _rows(value, None, "JSON rows")
        for item in value[:1000]:
            if isinstance(item, (list, dict)):
                yield from _json_tables(item, depth + 1)
        return
    if not isinstance(value, dict) or not value:
        return
    inner = list(value.values())
    if isinstance(value.get("data"), list) and isinstance(value.get("columns"), list):
        yield _rows(value["data"], value["columns"], "JSON table")
    elif len(inner) >= 2 and all(isinstance(v, list) for v in inner):
        if len({len(v) for v in inner}) == 1:
            yield _columns({str(k): v for k, v in value.items()}, "JSON object of arrays")
    elif len(inner) >= 2 and all(isinstance(v, dict) for v in inner):
        yield _records(inner, "JSON object of objects")
        yield _columns({str(k): list(v.values()) for k, v in value.items()}, "JSON object of objects")
    for item in inner:
        if isinstance(item, (list, dict)):
            yield from _json_tables(item, depth + 1)


def _cell(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, default=str)


def _records(records: list, source: str) -> FoundTable:
    keys: dict[str, None] = {}
    for record in records[:1000]:
        if isinstance(record, dict):
            keys.update(dict.fromkeys(map(str, record)))
    rows = [r if isinstance(r, dict) else {} for r in records]
    data = {k: pl.Series(k, [_cell(r.get(k)) for r in rows], dtype=pl.String) for k in list(keys)[:MAX_FIELDS]}
    return FoundTable(pl.DataFrame(data), source, "record")


def _columns(columns: dict[str, list], source: str) -> FoundTable:
    length = min(len(v) for v in columns.values())
    data = {
        k: pl.Series(k, [_cell(x) for x in v[:length]], dtype=pl.String) for k, v in list(columns.items())[:MAX_FIELDS]
    }
    return FoundTable(pl.DataFrame(data), source, "record")


def _rows(rows: list, names: list | None, source: str) -> FoundTable:
    rows = [r if isinstance(r, list) else [r] for r in rows]
    width = min(max((len(r) for r in rows), default=0), MAX_FIELDS)
    labels = [str(n) for n in names[:width]] if names and len(names) >= width else [f"c{i + 1}" for i in range(width)]
    data = {
        labels[i]: pl.Series(labels[i], [_cell(r[i]) if i < len(r) else None for r in rows], dtype=pl.String)
        for i in range(width)
    }
    return FoundTable(pl.DataFrame(data), source, "record", named=bool(names))


# ---- text


def _lines(text: str) -> pl.DataFrame:
    lines = pl.DataFrame({"text": text.split("\n")}, schema={"text": pl.String}).with_row_index("line", offset=1)
    return lines.with_columns(pl.col("text").str.strip_chars_end("\r"))


def _text_tables(text: str) -> list[FoundTable]:
    lines = _lines(text)
    found = _json_lines(lines)
    lines = lines.filter(~pl.col("text").str.strip_chars().str.contains(_JSON_LINE))
    counts = [pl.col("text").str.count_matches(d, literal=True).alias(f"n{i}") for i, d in enumerate(_DELIMITERS)]
    lines = lines.with_columns(
        *counts,
        pl.col("text").str.count_matches(_KEY_VALUE).alias("kv"),
        pl.col("text").str.strip_chars().str.count_matches(r"\s+").alias("spaces"),
        pl.col("text").str.count_matches(_NUMBERISH).alias("numbers"),
    )
    best = pl.max_horizontal([pl.col(f"n{i}") for i in range(len(_DELIMITERS))])
    choice = pl.when(pl.col("kv") >= 2).then(pl.lit("kv"))
    for i, delimiter in enumerate(_DELIMITERS):
        choice = choice.when((pl.col(f"n{i}") == best) & (best > 0)).then(pl.lit(delimiter))
    choice = choice.when((pl.col("spaces") >= 1) & (pl.col("numbers") >= 2)).then(pl.lit(" ")).otherwise(None)
    lines = lines.with_columns(choice.alias("delimiter")).filter(pl.col("delimiter").is_not_null())
    lines = lines.with_columns(_split(lines).alias("fields"))
    lines = lines.with_columns(pl.col("fields").list.len().alias("width"))
    lines = lines.filter((pl.col("width") >= 2) & (pl.col("width") <= MAX_FIELDS))
    groups = (
        lines.group_by("delimiter", "width")
        .agg(pl.len().alias("lines"))
        .filter((pl.col("lines") >= 2) | (pl.col("width") >= 3))
        .sort(pl.col("lines") * pl.col("width"), descending=True)
        .head(MAX_TABLES)
    )
    for delimiter, width, _ in groups.iter_rows():
        part = lines.filter((pl.col("delimiter") == delimiter) & (pl.col("width") == width))
        frame = part.select(
            [
                pl.col("fields").list.get(i).str.replace(_LINE_PREFIX if i == 0 else _KEY_PREFIX, "").alias(f"c{i + 1}")
                for i in range(width)
            ]
        )
        found.append(FoundTable(frame, "delimited lines", "line", part.get_column("line"), named=False))
    return found


def _split(lines: pl.DataFrame) -> pl.Series:
    text = pl.col("text").str.strip_chars()
    fields = pl.when(pl.col("delimiter") == "kv").then(
        pl.col("text").str.extract_all(_KEY_VALUE).list.eval(pl.element().str.replace(r"^[^=]*=\s*", ""))
    )
    for delimiter in _DELIMITERS:
        # Markdown rows '| a | b |': the outer pipes open no field
        cut = text.str.strip_chars("|").str.strip_chars() if delimiter == "|" else text
        fields = fields.when(pl.col("delimiter") == delimiter).then(
            cut.str.split(delimiter).list.eval(pl.element().str.strip_chars().str.strip_chars('"'))
        )
    fields = fields.otherwise(text.str.split(" ").list.eval(pl.element().filter(pl.element() != "")))
    return lines.select(fields).to_series()


def _json_lines(lines: pl.DataFrame) -> list[FoundTable]:
    candidates = lines.filter(pl.col("text").str.strip_chars().str.contains(_JSON_LINE))
    if not candidates.height:
        return []
    records, places = [], []
    for number, text in candidates.select("line", "text").iter_rows():
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
            places.append(number)
    if not records:
        return []
    table = _records(records, "JSON lines")
    return [FoundTable(table.frame, table.source, "line", pl.Series(places, dtype=pl.UInt32))]
