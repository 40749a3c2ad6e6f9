"""participant_identifiers: whole values and whole words only, located, never echoed."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from checks_builders import result_of

from egress_review.checks import ChecksConfig, Verdict
from egress_review.checks.identifiers import find_in_text, redact

IDS = frozenset({"4810327", "5920011", "7000001"})


def identifiers(check, name, content, ids=IDS, **config):
    return result_of(check(name, content, ChecksConfig(**config), identifiers=ids), "participant_identifiers")


def locations(result) -> list[str]:
    return [f.location for f in result.findings]


def test_table_without_identifiers_passes(check):
    result = identifiers(check, "t.csv", "group,n\na,12\nb,4810\n")
    assert result.verdict is Verdict.PASS


def test_cell_equal_to_an_identifier_blocks_and_names_row_and_column(check):
    result = identifiers(check, "t.csv", "group,ref,n\na,1,12\nb,4810327,30\n")
    assert result.verdict is Verdict.BLOCK
    assert locations(result) == ["row 2, column 2 'ref'"]
    assert "equals" in result.findings[0].message


def test_the_identifier_itself_is_never_in_the_record(check):
    result = identifiers(check, "t.csv", "ref,note\n4810327,x\n5,patient 5920011 left\n")
    assert result.verdict is Verdict.BLOCK
    record = json.dumps(result.to_record())
    assert "4810327" not in record and "5920011" not in record


@pytest.mark.parametrize(
    "cell",
    # '48103270' (x10) and '4,810,327' (grouped) are identifiers in another form: test_checks_identifier_forms
    ["14810327", "A4810327", "4810327A", "4810327_1", "x_4810327", "481 0327"],
)
def test_identifier_as_a_substring_does_not_match(check, cell):
    result = identifiers(check, "t.csv", f'group,ref\na,"{cell}"\n')
    assert result.verdict is Verdict.PASS, cell


@pytest.mark.parametrize(
    "cell",
    [" 4810327 ", "4810327.0", "patient 4810327 excluded", "id=4810327;", "(4810327)", "4810327-01"],
)
def test_identifier_as_a_whole_word_in_a_cell_matches(check, cell):
    result = identifiers(check, "t.csv", f'group,note\na,"{cell}"\n')
    assert result.verdict is Verdict.BLOCK, cell
    assert locations(result) == ["row 1, column 2 'note'"]


def test_quoted_cell_with_commas_is_one_cell_in_the_right_column(check):
    result = identifiers(check, "t.csv", 'a,b,c\n1,"x, 4810327, y",3\n')
    assert locations(result) == ["row 1, column 2 'b'"]


def test_csv_with_byte_order_mark_matches_the_first_cell(check):
    result = identifiers(check, "t.csv", b"\xef\xbb\xbfref,n\n4810327,12\n")
    assert locations(result) == ["row 1, column 1 'ref'"]


def test_rows_are_counted_as_records_not_lines(check):
    result = identifiers(check, "t.csv", 'note,ref\n"two\nlines",1\nz,7000001\n')
    assert locations(result) == ["row 2, column 2 'ref'"]


def test_column_name_holding_an_identifier_blocks_without_naming_it(check):
    result = identifiers(check, "t.csv", "group,4810327\na,12\n")
    assert result.verdict is Verdict.BLOCK
    assert locations(result) == ["header, column 2"]
    assert "4810327" not in json.dumps(result.to_record())


def test_parquet_integer_identifier_column_matches(check):
    sink = io.BytesIO()
    pq.write_table(pa.table({"eid": [1, 4810327], "bmi": [20.5, 30.1]}), sink)
    result = identifiers(check, "t.parquet", sink.getvalue())
    assert locations(result) == ["row 2, column 1 'eid'"]


def test_parquet_float_rendering_of_an_identifier_matches(check):
    sink = io.BytesIO()
    pq.write_table(pa.table({"eid": [4810327.0, None]}), sink)
    assert identifiers(check, "t.parquet", sink.getvalue()).verdict is Verdict.BLOCK


def test_text_file_reports_the_line(check):
    result = identifiers(check, "notes.md", "# Notes\n\nexcluded 7000001 (withdrew)\n")
    assert result.verdict is Verdict.BLOCK
    assert locations(result) == ["line 3"]


def test_json_file_is_searched_as_text(check):
    result = identifiers(check, "model.json", '{"outliers": [4810327, 12]}')
    assert locations(result) == ["line 1"]


def test_windows_line_endings_do_not_hide_a_whole_line_identifier(check):
    assert locations(identifiers(check, "ids.txt", "a\r\n4810327\r\n")) == ["line 2"]


def test_findings_are_capped_but_the_total_is_reported(check):
    rows = "".join(f"{i},4810327\n" for i in range(30))
    result = identifiers(check, "t.csv", "k,ref\n" + rows, max_identifier_findings=5)
    assert result.verdict is Verdict.BLOCK
    assert len(result.findings) == 5
    assert result.summary.startswith("30 cells") and "first 5 listed" in result.summary


def test_identifiers_with_punctuation_match_as_whole_tokens(check):
    ids = frozenset({"AB-123"})
    assert identifiers(check, "t.txt", "subject AB-123 left\n", ids).verdict is Verdict.BLOCK
    assert identifiers(check, "t.txt", "subject XAB-1234 left\n", ids).verdict is Verdict.PASS


def test_no_identifiers_known_passes_with_that_reason(check):
    result = identifiers(check, "t.csv", "ref\n4810327\n", frozenset())
    assert result.verdict is Verdict.PASS and "no identifiers" in result.summary


def test_header_only_and_empty_tables_pass(check):
    assert identifiers(check, "t.csv", "group,ref\n").verdict is Verdict.PASS
    assert identifiers(check, "t.csv", "").verdict is Verdict.PASS


def test_images_are_not_searched(check):
    from checks_builders import png_bytes

    assert identifiers(check, "p.png", png_bytes()) is None


def test_find_in_text_gives_zero_based_lines():
    matches = find_in_text("x\ny 4810327\n", IDS)
    assert matches.cells.get_column("row").to_list() == [1]


def test_redact_replaces_only_whole_identifiers():
    assert redact("could not parse `4810327` near 14810327", IDS) == "could not parse `[identifier]` near 14810327"
