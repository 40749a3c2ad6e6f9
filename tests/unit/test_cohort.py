"""The synthetic cohort generator: reproducible, shaped like a biobank, safe to run."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from enclave.cohort import CohortSummary, generate, generate_cohort
from enclave.cohort.codes import DIAGNOSIS_CODES

SMALL = 2_000
SEED = 7
TABLES = ("participants", "baseline", "diagnoses")
FILES = tuple(f"{name}.parquet" for name in TABLES)
FEMALE_ONLY = {c.code for c in DIAGNOSIS_CODES if c.sex == "Female"}
MALE_ONLY = {c.code for c in DIAGNOSIS_CODES if c.sex == "Male"}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> CohortSummary:
    out_dir = tmp_path_factory.mktemp("cohort") / "small"
    return generate_cohort(out_dir, participants=SMALL, seed=SEED)


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> dict[str, pl.DataFrame]:
    """Enough participants for the built-in correlations to show clearly."""
    out_dir = tmp_path_factory.mktemp("cohort") / "large"
    summary = generate_cohort(out_dir, participants=50_000, seed=SEED)
    return {name: read(summary, name) for name in TABLES}


def read(summary: CohortSummary, name: str) -> pl.DataFrame:
    """One table of a generated cohort, by its name without the extension."""
    return pl.read_parquet(summary.out_dir / f"{name}.parquet")


def test_summary_describes_the_files_written(small):
    assert small.participants == SMALL
    assert small.seed == SEED
    assert small.files == FILES
    assert sorted(p.name for p in small.out_dir.iterdir()) == sorted(FILES)
    for name in FILES:
        assert small.rows[name] == pq.ParquetFile(small.out_dir / name).metadata.num_rows
    assert small.rows["participants.parquet"] == small.rows["baseline.parquet"] == SMALL
    assert small.identifier_column == "participant_id"


def test_same_seed_gives_equal_frames_and_identical_bytes(small, tmp_path):
    again = generate_cohort(tmp_path / "again", participants=SMALL, seed=SEED)
    for name in TABLES:
        assert read(again, name).equals(read(small, name), null_equal=True)
    for name in FILES:
        assert (again.out_dir / name).read_bytes() == (small.out_dir / name).read_bytes()


def test_different_seed_gives_different_data(small, tmp_path):
    other = generate_cohort(tmp_path / "other", participants=SMALL, seed=SEED + 1)
    for name in TABLES:
        assert not read(other, name).equals(read(small, name), null_equal=True)
    ids, other_ids = (set(read(s, "participants")["participant_id"]) for s in (small, other))
    assert len(ids & other_ids) < SMALL // 10


def test_parquet_is_zstd_with_fixed_row_groups_and_no_timestamps(small):
    for name in FILES:
        metadata = pq.ParquetFile(small.out_dir / name).metadata
        assert metadata.row_group(0).column(0).compression == "ZSTD"
        assert set(metadata.metadata or {}) <= {b"ARROW:schema"}


def test_participant_ids_are_unique_random_seven_digit_numbers(small):
    ids = read(small, "participants")["participant_id"]
    assert ids.dtype == pl.Int64
    assert ids.len() == SMALL and ids.n_unique() == SMALL
    assert ids.min() >= 1_000_000 and ids.max() <= 9_999_999
    assert ids.is_sorted()
    gaps = ids.diff().drop_nulls()
    assert (gaps == 1).mean() < 0.01  # not a sequential block
    assert ids.max() - ids.min() > 8_000_000  # spread over the whole range


def test_every_table_uses_the_same_participants(small):
    ids = read(small, "participants")["participant_id"]
    assert read(small, "baseline")["participant_id"].equals(ids)
    diagnosed = read(small, "diagnoses")["participant_id"].unique()
    assert diagnosed.is_in(ids.implode()).all()
    assert 0 < diagnosed.len() < SMALL  # some participants have no diagnosis


def test_participants_columns_and_ranges(small):
    people = read(small, "participants")
    assert people.columns == [
        "participant_id",
        "sex",
        "year_of_birth",
        "age_at_recruitment",
        "ethnicity",
        "assessment_centre",
        "townsend_deprivation_index",
        "recruitment_date",
    ]
    assert set(people["sex"]) == {"Female", "Male"}
    assert people["year_of_birth"].min() >= 1936 and people["year_of_birth"].max() <= 1970
    assert people["recruitment_date"].min() >= dt.date(2006, 3, 13)
    assert people["recruitment_date"].max() <= dt.date(2010, 10, 1)
    assert people["age_at_recruitment"].min() >= 40 and people["age_at_recruitment"].max() <= 69
    stated = people["recruitment_date"].dt.year() - people["year_of_birth"]
    assert (stated - people["age_at_recruitment"]).is_in([0, 1]).all()
    assert people["assessment_centre"].n_unique() > 15


def test_baseline_has_nulls_where_real_data_has_gaps(small):
    baseline = read(small, "baseline")
    for column in ("height_cm", "weight_kg", "bmi", "ldl_cholesterol", "hba1c"):
        assert 0 < baseline[column].null_count() < SMALL * 0.15, column
    assert baseline["participant_id"].null_count() == 0


def test_bmi_is_derived_from_recorded_height_and_weight(small):
    baseline = read(small, "baseline")
    expected = baseline["weight_kg"] / (baseline["height_cm"] / 100) ** 2
    assert ((baseline["bmi"] - expected).abs() < 0.006).all()
    unmeasured = baseline.filter(pl.col("weight_kg").is_null() | pl.col("height_cm").is_null())
    assert unmeasured.height > 0
    assert unmeasured["bmi"].null_count() == unmeasured.height
    assert (baseline["diastolic_bp"] < baseline["systolic_bp"]).all()


def test_measurements_depend_on_sex_age_and_bmi(large):
    cohort = large["participants"].join(large["baseline"], on="participant_id")
    heights = cohort.group_by("sex").agg(pl.col("height_cm").mean()).sort("sex")["height_cm"]
    assert heights[1] - heights[0] > 10  # men taller than women
    assert cohort.select(pl.corr("bmi", "systolic_bp")).item() > 0.15
    assert cohort.select(pl.corr("age_at_recruitment", "systolic_bp")).item() > 0.15
    assert 26 < cohort["bmi"].mean() < 29


def test_sex_specific_diagnoses_occur_only_in_that_sex(large):
    sexes = large["participants"].select("participant_id", "sex")
    rows = large["diagnoses"].join(sexes, on="participant_id")
    assert FEMALE_ONLY >= {"C50"} and MALE_ONLY >= {"C61"}
    women = rows.filter(pl.col("icd10_code").is_in(sorted(FEMALE_ONLY)))
    men = rows.filter(pl.col("icd10_code").is_in(sorted(MALE_ONLY)))
    assert women.height > 100 and men.height > 100
    assert set(women["sex"]) == {"Female"}
    assert set(men["sex"]) == {"Male"}
    assert set(rows.filter(pl.col("icd10_code") == "I10")["sex"]) == {"Female", "Male"}


def test_type_2_diabetes_is_more_common_with_high_bmi(large):
    diabetic = large["diagnoses"].filter(pl.col("icd10_code") == "E11")["participant_id"]
    baseline = (
        large["baseline"]
        .drop_nulls("bmi")
        .with_columns(pl.col("participant_id").is_in(diabetic.implode()).alias("e11"))
    )
    rate = baseline.group_by(pl.col("bmi") >= 30).agg(pl.col("e11").mean()).sort("bmi")["e11"]
    assert rate[1] > 2 * rate[0]


def test_diagnoses_are_valid_codes_mostly_after_recruitment(large):
    people = large["participants"].select("participant_id", "recruitment_date", "year_of_birth")
    rows = large["diagnoses"].join(people, on="participant_id")
    assert set(rows["icd10_code"]) <= {c.code for c in DIAGNOSIS_CODES}
    assert rows["icd10_code"].n_unique() >= 30
    assert rows["diagnosis_date"].max() <= dt.date(2025, 12, 31)
    assert (rows["diagnosis_date"].dt.year() >= rows["year_of_birth"] + 18).all()
    after = (rows["diagnosis_date"] >= rows["recruitment_date"]).mean()
    assert 0.8 < after < 1.0
    assert rows.select("participant_id", "icd10_code").is_duplicated().sum() == 0
    assert rows.select(pl.col("participant_id").is_sorted()).item()
    per_person = rows.group_by("participant_id").len()["len"]
    assert per_person.max() > 3


def test_refuses_a_non_empty_output_folder_and_leaves_it_alone(tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("precious")
    with pytest.raises(ValueError, match="not empty"):
        generate_cohort(tmp_path, participants=10)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    assert keep.read_text() == "precious"


def test_refuses_a_file_as_output_folder(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        generate_cohort(target, participants=10)


def test_a_failed_write_leaves_no_files_behind(tmp_path, monkeypatch):
    real_write = generate.pq.write_table
    calls = []

    def write_then_fail(table, where, **options):
        calls.append(where)
        if len(calls) == 2:
            raise OSError("disk full")
        real_write(table, where, **options)

    monkeypatch.setattr(generate.pq, "write_table", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        generate_cohort(tmp_path / "out", participants=10)
    assert len(calls) == 2
    assert list((tmp_path / "out").iterdir()) == []


def test_writes_into_an_existing_empty_folder(tmp_path):
    summary = generate_cohort(tmp_path, participants=10, seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert summary.rows["participants.parquet"] == 10


def test_single_participant_cohort_works(tmp_path):
    summary = generate_cohort(tmp_path / "one", participants=1, seed=0)
    assert read(summary, "participants").height == 1


@pytest.mark.parametrize(
    ("participants", "seed", "message"),
    [
        (0, 1, "between 1 and 5,000,000"),
        (5_000_001, 1, "between 1 and 5,000,000"),
        (2.5, 1, "whole number"),
        (True, 1, "whole number"),
        ("10", 1, "whole number"),
        (10, -1, "seed must be"),
        (10, 1.0, "seed must be"),
    ],
)
def test_rejects_bad_arguments_before_touching_disk(tmp_path, participants, seed, message):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        generate_cohort(out, participants=participants, seed=seed)
    assert not out.exists()


def test_default_size_cohort_has_500000_unique_participants(tmp_path):
    summary = generate_cohort(tmp_path / "full")
    assert summary.participants == 500_000 and summary.seed == 20260521
    ids = pq.read_table(summary.out_dir / FILES[0], columns=["participant_id"])[0].to_numpy()
    assert ids.size == 500_000 and np.unique(ids).size == 500_000
    assert summary.rows["diagnoses.parquet"] > 500_000
