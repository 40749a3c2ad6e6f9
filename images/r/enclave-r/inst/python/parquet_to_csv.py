"""Write a Parquet table as CSV for R: parquet_to_csv.py SOURCE OUT [COLUMN ...].

Run by enclave::read_parquet() with the workspace's Python. SOURCE is a Parquet file, a folder of
them or a glob; only the named columns are read when some are given. Streamed (sink_csv), so the
table is never held whole in memory here. Nulls become empty fields, dates ISO 8601 (R's fread
reads both back: NA and IDate). A failure is one line on stderr, for R to show.
"""

import sys

import polars as pl

source, out, columns = sys.argv[1], sys.argv[2], sys.argv[3:]
try:
    table = pl.scan_parquet(source)
    names = table.collect_schema().names()
    unknown = [c for c in columns if c not in names]
    if unknown:
        sys.exit(f"{source} has no column {', '.join(unknown)}; its columns are: {', '.join(names)}")
    (table.select(columns) if columns else table).sink_csv(out, null_value="")
except (OSError, pl.exceptions.PolarsError) as e:
    sys.exit(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
