"""differencing: a small difference from an earlier released count is flagged."""

from __future__ import annotations

from checks_builders import result_of

from egress_review.checks import ChecksConfig, Verdict

RELEASED = "region,n\nnorth,120\nsouth,45\neast,300\n"


def differencing(check, write, content, released=(RELEASED,), **config):
    paths = tuple(write(f"released/r{i}.csv", text) for i, text in enumerate(released))
    results = check("new.csv", content, ChecksConfig(**config), released_tables=paths)
    return result_of(results, "differencing")


def test_count_differing_by_less_than_the_threshold_is_flagged(check, write):
    result = differencing(check, write, "region,n\nsouth,47\nnorth,120\neast,330\n")
    assert result.verdict is Verdict.FLAG
    assert [f.location for f in result.findings] == ["row 1"]
    message = result.findings[0].message
    assert "'n' is 47 here and 45 in released 'r0.csv' (row 2)" in message
    assert "difference 2" in message


def test_equal_or_far_apart_counts_pass(check, write):
    result = differencing(check, write, "region,n\nnorth,120\nsouth,55\neast,900\n")
    assert result.verdict is Verdict.PASS
    assert "compared with 1 released table" in result.summary


def test_threshold_is_its_own_parameter(check, write):
    content = "region,n\nsouth,55\n"
    assert differencing(check, write, content).verdict is Verdict.PASS
    assert differencing(check, write, content, differencing_threshold=11).verdict is Verdict.FLAG


def test_finer_new_table_is_summed_to_the_released_one(check, write):
    content = "region,sex,n\nnorth,f,60\nnorth,m,61\nsouth,f,20\nsouth,m,25\n"
    result = differencing(check, write, content)
    assert result.verdict is Verdict.FLAG
    assert [f.location for f in result.findings] == ["sum over rows with region=north"]


def test_finer_released_table_is_summed_to_the_new_one(check, write):
    released = "region,sex,n\nnorth,f,60\nnorth,m,58\n"
    result = differencing(check, write, "region,n\nnorth,120\n", released=(released,))
    assert result.verdict is Verdict.FLAG
    assert "sum over rows with region=north" in result.findings[0].message


def test_suppressed_part_makes_a_sum_unknown(check, write):
    content = "region,sex,n\nnorth,f,<5\nnorth,m,118\n"
    assert differencing(check, write, content).verdict is Verdict.PASS


def test_single_row_totals_are_compared(check, write):
    result = differencing(check, write, "total\n1003\n", released=("total\n1000\n",))
    assert result.verdict is Verdict.FLAG


def test_measure_columns_do_not_split_categories(check, write):
    released = "region,mean_age,n\nnorth,50.2,120\n"
    result = differencing(check, write, "region,mean_age,n\nnorth,50.9,121\n", released=(released,))
    assert result.verdict is Verdict.FLAG


def test_tables_without_a_shared_count_column_are_not_compared(check, write):
    result = differencing(check, write, "region,deaths\nnorth,118\n")
    assert result.verdict is Verdict.PASS and "compared with 0" in result.summary


def test_different_categories_are_not_compared(check, write):
    result = differencing(check, write, "ethnicity,n\nnorth,118\n")
    assert result.verdict is Verdict.PASS


def test_no_released_tables_passes_and_says_so(check):
    result = result_of(check("new.csv", "region,n\nnorth,1\n"), "differencing")
    assert result.verdict is Verdict.PASS and "no earlier released" in result.summary
