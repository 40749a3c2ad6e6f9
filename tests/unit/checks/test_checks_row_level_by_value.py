"""row_level_data (v2): rows are found by their values, in every format, and chance matches are told apart."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from checks_builders import result_of

from egress_review.checks import ChecksConfig, Verdict

ROWS = 3000


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    rng = np.random.default_rng(11)
    start = datetime.date(1990, 1, 1)
    table = pa.table(
        {
            "eid": pa.array(np.arange(5_000_000, 5_000_000 + ROWS)),
            "height": pa.array(np.round(rng.normal(170, 9, ROWS), 1)),
            "weight": pa.array(np.round(rng.normal(80, 14, ROWS), 1)),
            "ldl": pa.array(np.round(rng.normal(3.5, 0.8, ROWS), 3)),
            "sbp": pa.array(rng.integers(95, 190, ROWS)),
            "code": pa.array(rng.choice([f"K{i:02d}" for i in range(80)], ROWS)),
            "date": pa.array([start + datetime.timedelta(days=int(d)) for d in rng.integers(0, 9000, ROWS)]),
            "sex": pa.array(rng.choice(["F", "M"], ROWS)),
        }
    )
    path = tmp_path_factory.mktemp("cohort") / "cohort.parquet"
    pq.write_table(table, path)
    return path, table.to_pylist()


def row_level(check, name, content, cohort_path, **config):
    return result_of(check(name, content, ChecksConfig(**config), cohort_tables=(cohort_path,)), "row_level_data")


def leaked(rows, n=12):
    return [(r["ldl"], r["sbp"], r["height"], r["weight"]) for r in rows[100 : 100 + n]]


def test_renamed_and_reordered_columns_are_matched_by_value(check, cohort):
    path, rows = cohort
    content = "a,b,c,d\n" + "".join(f"{h},{w},{ldl},{sbp}\n" for ldl, sbp, h, w in leaked(rows))
    result = row_level(check, "t.csv", content, path)
    assert result.verdict is Verdict.BLOCK and len(result.findings) == 12
    assert "'a' as 'height'" in result.findings[0].message
    assert result.parameters["match"].startswith("by values")


def test_a_transposed_table_is_matched_column_by_column(check, cohort):
    path, rows = cohort
    values = leaked(rows, 8)
    content = "field," + ",".join(f"p{i}" for i in range(8)) + "\n"
    for k, name in enumerate(["x", "y", "z", "w"]):
        content += name + "," + ",".join(str(v[k]) for v in values) + "\n"
    result = row_level(check, "t.csv", content, path)
    assert result.verdict is Verdict.BLOCK
    assert "column 2" in [f.location for f in result.findings]  # column 1 holds the field names


@pytest.mark.parametrize("shape", ["records", "columns", "lines"])
def test_json_and_delimited_lines_are_read_as_tables(check, cohort, shape):
    path, rows = cohort
    values = leaked(rows)
    if shape == "records":
        name, content = "r.json", json.dumps([dict(zip("pqrs", v, strict=True)) for v in values])
    elif shape == "columns":
        name, content = "r.json", json.dumps({k: [v[i] for v in values] for i, k in enumerate("pqrs")})
    else:
        name, content = (
            "run.log",
            "".join(f"12:00:0{i % 10} INFO values {v[0]}, {v[1]}, {v[2]}, {v[3]}\n" for i, v in enumerate(values)),
        )
    assert row_level(check, name, content, path).verdict is Verdict.BLOCK


def test_a_narrow_table_of_rare_pairs_blocks(check, cohort):
    path, rows = cohort
    content = "dx,on\n" + "".join(f"{r['code']},{r['date']}\n" for r in rows[200:215])
    result = row_level(check, "pairs.csv", content, path)
    assert result.verdict is Verdict.BLOCK
    assert "rare pair" in result.findings[0].message


def test_made_up_pairs_that_exist_in_the_cohort_by_chance_do_not_block(check, cohort):
    path, rows = cohort
    rng = np.random.default_rng(8)
    codes = [r["code"] for r in rows]
    sbps = [r["sbp"] for r in rows]
    content = "dx,sbp\n" + "".join(f"{codes[rng.integers(ROWS)]},{sbps[rng.integers(ROWS)]}\n" for _ in range(40))
    assert row_level(check, "pairs.csv", content, path).verdict is Verdict.PASS


def test_pairs_count_only_where_the_cohorts_pairs_are_nearly_unique(check, cohort):
    path, rows = cohort
    content = "dx,on\n" + "".join(f"{r['code']},{r['date']}\n" for r in rows[200:215])
    assert row_level(check, "pairs.csv", content, path, row_match_pair_uniqueness=1.01).verdict is Verdict.PASS


def test_means_by_group_are_not_rows_even_when_their_values_are_cohort_values(check, cohort):
    path, _ = cohort
    rng = np.random.default_rng(3)
    lines = ["group,n,mean_height,mean_weight,mean_ldl"]
    for g in range(20):
        lines.append(
            f"g{g},{rng.integers(50, 300)},{rng.normal(170, 1):.1f},{rng.normal(80, 1):.1f},{rng.normal(3.5, 0.05):.3f}"
        )
    assert row_level(check, "means.csv", "\n".join(lines) + "\n", path).verdict is Verdict.PASS


def test_a_handful_of_real_rows_hidden_among_made_up_ones_is_told_from_chance(check, cohort):
    path, rows = cohort
    rng = np.random.default_rng(5)
    lines = ["a,b,c"]
    for i in range(40):
        if i % 8 == 0:
            r = rows[300 + i]
            lines.append(f"{r['height']},{r['weight']},{r['ldl']}")
        else:
            lines.append(f"{rng.normal(170, 9):.1f},{rng.normal(80, 14):.1f},{rng.normal(3.5, 0.8):.3f}")
    result = row_level(check, "t.csv", "\n".join(lines) + "\n", path)
    assert result.verdict is Verdict.BLOCK
    assert [f.location for f in result.findings] == [f"row {i + 1}" for i in range(0, 40, 8)]
