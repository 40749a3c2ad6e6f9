"""row_level_data: rows reproducing cohort rows on enough identifying columns block."""

from __future__ import annotations

import datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from checks_builders import result_of

from egress_review.checks import ChecksConfig, Verdict

ROWS = 2000


@pytest.fixture
def cohort(tmp_path):
    rng = np.random.default_rng(7)
    start = datetime.date(1940, 1, 1)
    table = pa.table(
        {
            "eid": pa.array(np.arange(1_000_000, 1_000_000 + ROWS)),
            "DOB": pa.array([start + datetime.timedelta(days=int(d)) for d in rng.integers(0, 20000, ROWS)]),
            "bmi": pa.array(np.round(rng.uniform(16, 45, ROWS), 4)),
            "bmi32": pa.array(np.round(rng.uniform(16, 45, ROWS), 3), type=pa.float32()),
            "sbp": pa.array(rng.integers(90, 200, ROWS)),
            "sex": pa.array(rng.choice(["F", "M"], ROWS)),
            "region": pa.array(rng.choice([f"r{i}" for i in range(9)], ROWS)),
        }
    )
    path = tmp_path / "cohort.parquet"
    pq.write_table(table, path)
    return path, table.to_pylist()


def row_level(check, name, content, cohort_path, **config):
    results = check(name, content, ChecksConfig(**config), cohort_tables=(cohort_path,))
    return result_of(results, "row_level_data")


def test_rows_copied_from_the_cohort_block_and_are_located(check, cohort):
    path, rows = cohort
    lines = ["Dob,BMI,sbp,note"]
    lines.append("1970-01-01,22.5,120,made up")
    for r in rows[10:12]:
        lines.append(f"{r['DOB'].isoformat()},{r['bmi']},{float(r['sbp'])},copied")
    result = row_level(check, "t.csv", "\n".join(lines) + "\n", path)
    assert result.verdict is Verdict.BLOCK
    assert [f.location for f in result.findings] == ["row 2", "row 3"]
    assert "'Dob', 'BMI', 'sbp'" in result.findings[0].message


def test_float32_cohort_values_match_their_decimal_text(check, cohort):
    path, rows = cohort
    r = rows[5]
    content = f"bmi32,sbp,dob\n{r['bmi32']:.3f},{r['sbp']},{r['DOB']}\n"
    assert row_level(check, "t.csv", content, path).verdict is Verdict.BLOCK


def test_matching_on_fewer_columns_than_required_passes(check, cohort):
    path, rows = cohort
    r = rows[3]
    content = f"dob,bmi,sbp\n{r['DOB']},{r['bmi']},999\n"
    assert row_level(check, "t.csv", content, path).verdict is Verdict.PASS  # one row: a pair may be chance


def test_aggregate_table_over_low_cardinality_columns_is_not_row_level(check, cohort):
    path, _ = cohort
    content = "sex,region,eid_count\nF,r1,120\nM,r1,130\n"
    result = row_level(check, "t.csv", content, path, row_match_min_columns=2)
    assert result.verdict is Verdict.PASS


def test_low_cardinality_columns_count_when_the_threshold_allows(check, cohort):
    path, rows = cohort
    r = rows[0]
    content = f"sex,region,sbp\n{r['sex']},{r['region']},{r['sbp']}\n"
    assert row_level(check, "t.csv", content, path, row_match_min_distinct=1).verdict is Verdict.BLOCK


def test_matches_up_to_the_allowed_number_are_flagged_not_blocked(check, cohort):
    path, rows = cohort
    r = rows[1]
    content = f"eid,dob,bmi\n{r['eid']},{r['DOB']},{r['bmi']}\n"
    assert row_level(check, "t.csv", content, path, row_match_max_rows=1).verdict is Verdict.FLAG


def test_without_cohort_data_the_rule_passes_and_says_so(check):
    results = check("t.csv", "a,b\n1,2\n")
    result = result_of(results, "row_level_data")
    assert result.verdict is Verdict.PASS and "no cohort data" in result.summary


def test_large_cohort_uses_joins(check, tmp_path):
    # 500,000 cohort rows; a quadratic comparison would not finish
    n = 500_000
    rng = np.random.default_rng(1)
    table = pa.table(
        {
            "eid": np.arange(n),
            "height": np.round(rng.uniform(140, 200, n), 1),
            "weight": np.round(rng.uniform(40, 150, n), 1),
            "sbp": rng.integers(90, 200, n),
        }
    )
    path = tmp_path / "big.parquet"
    pq.write_table(table, path)
    picked = table.slice(123_456, 1).to_pylist()[0]
    lines = ["height,weight,sbp"] + [f"{170 + i / 10},{80 + i / 10},{100 + i % 50}" for i in range(2000)]
    lines.append(f"{picked['height']},{picked['weight']},{picked['sbp']}")
    # made-up (height, weight) pairs are rare pairs of this uniform cohort: look at 3-column matches only
    result = row_level(check, "t.csv", "\n".join(lines) + "\n", path, row_match_rare_pair_max=0)
    assert result.verdict is Verdict.BLOCK
    assert "row 2001" in [f.location for f in result.findings]
