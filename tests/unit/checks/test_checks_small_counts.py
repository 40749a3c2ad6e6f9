"""small_counts: count-like cells with 0 < n < threshold are flagged one by one."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from checks_builders import result_of

from egress_review.checks import ChecksConfig, Verdict
from egress_review.checks.countlike import count_columns
from egress_review.checks.kinds import FileKind
from egress_review.checks.tables import read_table


def small_counts(check, content, name="t.csv", **config):
    return result_of(check(name, content, ChecksConfig(**config)), "small_counts")


def columns_of(csv_text: str) -> list[str]:
    return count_columns(read_table(csv_text.encode(), FileKind.CSV, ","))


def test_crosstab_small_cells_are_flagged_with_row_and_column(check):
    content = "region,male,female\nnorth,120,3\nsouth,0,45\neast,9,10\n"
    result = small_counts(check, content)
    assert result.verdict is Verdict.FLAG
    assert [f.location for f in result.findings] == [
        "row 1, column 3 'female'",
        "row 2, column 2 'male'",
        "row 3, column 2 'male'",
    ]
    assert result.findings[0].message == "count 3 is below 10"
    assert result.findings[1].message.startswith("count 0")


def test_zeros_are_flagged_by_default_as_acro_does_and_not_when_the_setting_is_off(check):
    content = "group,n\na,0\nb,10\nc,250\n"
    flagged = small_counts(check, content)
    assert flagged.verdict is Verdict.FLAG and [f.location for f in flagged.findings] == ["row 1, column 2 'n'"]
    assert flagged.parameters["small_counts_flag_zeros"] is True
    assert small_counts(check, content, small_counts_flag_zeros=False).verdict is Verdict.PASS


def test_the_threshold_itself_is_not_flagged(check):
    assert small_counts(check, "group,n\nb,10\nc,250\n").verdict is Verdict.PASS


def test_threshold_is_a_parameter(check):
    result = small_counts(check, "group,n\na,12\n", small_count_threshold=20)
    assert result.verdict is Verdict.FLAG
    assert result.parameters["small_count_threshold"] == 20


def test_count_with_percentage_cells_are_read(check):
    result = small_counts(check, 'group,n (%)\na,"4 (2.1%)"\nb,"190 (97.9%)"\n')
    assert [f.location for f in result.findings] == ["row 1, column 2 'n (%)'"]


def test_suppression_markers_keep_a_column_count_like(check):
    result = small_counts(check, "group,cases\na,<5\nb,*\nc,7\nd,1200\n")
    assert [f.location for f in result.findings] == ["row 3, column 2 'cases'"]


def test_count_named_column_flags_whole_numbers_among_text(check):
    result = small_counts(check, "group,count\na,n/a\nb,2\nc,unknown\n")
    assert [f.location for f in result.findings] == ["row 2, column 2 'count'"]


@pytest.mark.parametrize(
    "csv_text, expected",
    [
        ("year,deaths\n2019,5\n2020,7\n", ["deaths"]),  # year is a category
        ("eid,age,score\n3,4,5\n", []),  # named as ids, ages, scores
        ("idx,males\n1,5\n2,6\n3,7\n", ["males"]),  # 'idx' is an index by name
        ("row,males\n1,5\n2,6\n3,7\n", ["males"]),
        (",males\n0,5\n1,6\n2,7\n", ["males"]),  # unnamed pandas index
        ("mean_bmi,n\n22.5,3\n", ["n"]),  # floats are not counts
        ("group,2019,2020\na,1999,2001\nb,2000,2002\n", []),  # all years
        ("group,change\na,-1\nb,5\n", []),  # negative numbers are not counts
        ("level,patients\nq,1\n", ["patients"]),
        ("nCases,totalPeople\n1,2\n", ["nCases", "totalPeople"]),  # camelCase words
    ],
)
def test_count_like_columns_heuristic(csv_text, expected):
    assert columns_of(csv_text) == expected


def test_row_index_in_order_is_not_a_count_but_arbitrary_codes_are(check):
    assert columns_of("k,n\n1,50\n2,60\n3,70\n") == ["n"]
    assert columns_of("k,n\n3,50\n1,60\n2,70\n") == ["k", "n"]


def test_no_count_columns_passes(check):
    result = small_counts(check, "group,mean\na,2.5\n")
    assert result.verdict is Verdict.PASS and "no count-like" in result.summary


def test_header_only_table_passes(check):
    assert small_counts(check, "group,n\n").verdict is Verdict.PASS


def test_parquet_integer_counts_are_checked(check):
    sink = io.BytesIO()
    pq.write_table(pa.table({"group": ["a", "b"], "n": [4, 400]}), sink)
    result = small_counts(check, sink.getvalue(), name="t.parquet")
    assert [f.location for f in result.findings] == ["row 1, column 2 'n'"]


def test_findings_are_capped_and_the_total_kept(check):
    rows = "".join(f"g{i},{i % 9 + 1}\n" for i in range(80))
    result = small_counts(check, "group,n\n" + rows, max_findings=10)
    assert len(result.findings) == 10
    assert result.summary.startswith("80 counts") and "first 10 listed" in result.summary


def test_text_files_are_not_checked_for_counts(check):
    assert small_counts(check, "There were 3 cases.\n", name="notes.md") is None
