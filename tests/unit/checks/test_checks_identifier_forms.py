"""participant_identifiers (v2): identifiers written in forms an analyst could undo by hand block too."""

from __future__ import annotations

import json

import pytest
from checks_builders import result_of

from egress_review.checks import Verdict

# pseudonyms as the enclave makes them: the project's code, then 14 digits
IDS = [1_100_000_000_000_000 + 7_919 * n * 1_000_003 for n in range(1, 400)]
IDENTIFIERS = frozenset(map(str, IDS))


def identifiers(check, name, content):
    return result_of(check(name, content, identifiers=IDENTIFIERS), "participant_identifiers")


@pytest.mark.parametrize(
    "cell, form",
    [
        (hex(IDS[3]), "hexadecimal"),
        (hex(IDS[3])[2:].upper(), "hexadecimal"),
        (" ".join(str(IDS[3])), "digits with separators"),
        (f"{IDS[3]:,}", "digits with separators"),
        ("-".join([str(IDS[3])[:4], str(IDS[3])[4:10], str(IDS[3])[10:]]), "digits with separators"),
        (str(IDS[3])[::-1], "digits reversed"),
        ("000" + str(IDS[3]), "leading zeros"),
        (str(IDS[3] * 1000), "scaled by 1000"),
        (str(IDS[3] * 7), "scaled by 7"),
    ],
)
def test_a_cell_in_another_form_blocks_and_names_the_form(check, cell, form):
    result = identifiers(check, "t.csv", f'group,ref\na,"{cell}"\n')
    assert result.verdict is Verdict.BLOCK, cell
    assert result.findings[0].location.startswith("row 1, column 2")
    assert form in result.findings[0].message
    assert str(IDS[3]) not in json.dumps(result.to_record())


def test_a_column_shifted_by_a_constant_blocks_row_by_row(check):
    rows = "\n".join(f"g{i},{IDS[i] + 123_456_789}" for i in range(10))
    result = identifiers(check, "t.csv", "group,ref\n" + rows + "\n")
    assert result.verdict is Verdict.BLOCK
    assert "offset" in result.findings[0].message and "123456789" not in json.dumps(result.to_record())
    assert len(result.findings) == 10


def test_shifted_identifiers_one_per_line_in_a_text_block(check):
    text = "results\n" + "\n".join(str(IDS[i] - 5_000_000_000_000) for i in range(6)) + "\nend\n"
    result = identifiers(check, "notes.txt", text)
    assert result.verdict is Verdict.BLOCK
    assert result.findings[0].location == "line 2"


def test_shifted_identifiers_in_json_records_block(check):
    records = [{"who": IDS[i] + 42, "bmi": 20 + i} for i in range(5)]
    result = identifiers(check, "r.json", json.dumps(records))
    assert result.verdict is Verdict.BLOCK


@pytest.mark.parametrize(
    "content",
    [
        "chrom,pos,p\n1,12345678,1e-9\n2,234567891,3e-12\n7,99999999,5e-8\n",  # GWAS positions
        'year,n\n2019,"1,234"\n',
        "note\nrun 2024-01-15 12:30:00 finished\n",
        "id,value\n1,1234567890123\n2,2234567890123\n3,3234567890123\n",  # large numbers, no offset fits
    ],
)
def test_ordinary_numbers_are_not_identifiers_in_disguise(check, content):
    assert identifiers(check, "t.csv", content).verdict is Verdict.PASS
