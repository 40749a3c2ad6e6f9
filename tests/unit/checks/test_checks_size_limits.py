"""size_limits: bytes per file and data rows per table."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
from checks_builders import png_bytes, result_of

from egress_review.checks import ChecksConfig, Verdict


def size_limits(check, name, content, **config):
    return result_of(check(name, content, ChecksConfig(**config)), "size_limits")


def rows_csv(rows: int) -> str:
    return "group,value\n" + "".join(f"g{i},{i * 0.5}\n" for i in range(rows))


def test_table_within_both_limits_passes(check):
    result = size_limits(check, "t.csv", rows_csv(10))
    assert result.verdict is Verdict.PASS
    assert "10 data rows" in result.summary


def test_file_over_the_byte_limit_blocks_whatever_its_kind(check):
    result = size_limits(check, "plot.png", png_bytes(), max_file_bytes=50)
    assert result.verdict is Verdict.BLOCK
    assert "over the limit of 50 bytes" in result.summary


def test_file_exactly_at_the_byte_limit_passes(check):
    content = rows_csv(3)
    assert size_limits(check, "t.csv", content, max_file_bytes=len(content)).verdict is Verdict.PASS


def test_table_with_more_rows_than_the_limit_blocks(check):
    result = size_limits(check, "t.csv", rows_csv(6), max_table_rows=5)
    assert result.verdict is Verdict.BLOCK
    assert "6 data rows" in result.summary


def test_table_exactly_at_the_row_limit_passes(check):
    assert size_limits(check, "t.csv", rows_csv(5), max_table_rows=5).verdict is Verdict.PASS


def test_header_is_not_a_row_and_blank_lines_do_not_count(check):
    result = size_limits(check, "t.csv", "group,value\n\ng1,1\n\n", max_table_rows=1)
    assert result.verdict is Verdict.PASS
    assert "1 data rows" in result.summary


def test_header_only_csv_has_zero_rows(check):
    assert "0 data rows" in size_limits(check, "t.csv", "group,value\n").summary


def test_quoted_multiline_cell_is_one_row(check):
    result = size_limits(check, "t.csv", 'group,note\ng1,"two\nlines"\n', max_table_rows=1)
    assert result.verdict is Verdict.PASS


def test_parquet_rows_are_counted(check):
    sink = io.BytesIO()
    pq.write_table(pa.table({"x": list(range(7))}), sink)
    result = size_limits(check, "t.parquet", sink.getvalue(), max_table_rows=6)
    assert result.verdict is Verdict.BLOCK and "7 data rows" in result.summary


def test_parameters_record_the_limits_used(check):
    result = size_limits(check, "t.csv", rows_csv(1), max_file_bytes=1000, max_table_rows=9)
    assert result.parameters == {"max_file_bytes": 1000, "max_table_rows": 9}
