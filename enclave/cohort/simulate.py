"""Vectorised draws of the three cohort tables.

Each table has its own random stream (children of one SeedSequence), so the
draws of one table do not shift when another table gains a column. The draws
keep the unobserved "true" values (complete, unrounded) in ``Latent`` so that
later tables depend on them, not on what was recorded with gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from enclave.cohort.codes import (
    ALCOHOL_FREQUENCIES,
    ASSESSMENT_CENTRES,
    DIAGNOSIS_CODES,
    ETHNICITIES,
    ETHNICITY_MISSING,
    FEMALE_SHARE,
    SEXES,
    SMOKING_STATUSES,
)

ID_LOW = 1_000_000  # participant IDs are 7 digits, like UK Biobank eids
ID_HIGH = 9_999_999
MAX_PARTICIPANTS = 5_000_000  # well inside the 9 million possible IDs

RECRUITMENT_START = np.datetime64("2006-03-13")
RECRUITMENT_END = np.datetime64("2010-10-01")
FOLLOW_UP_END = np.datetime64("2025-12-31")
PREVALENT_SHARE = 0.12  # share of diagnoses dated before recruitment

# Reference values the diagnosis effects are relative to (see DiagnosisCode).
REF_AGE, REF_BMI, REF_LDL, REF_SBP, REF_HBA1C = 56.0, 27.0, 3.55, 138.0, 36.0

_DAYS_PER_YEAR = 365.2425
_EFFECTS = ("age", "bmi", "smoking", "male", "ldl", "sbp", "hba1c")
_BLOCK = 65_536  # participants scored per matrix product in diagnoses()


@dataclass(frozen=True)
class Latent:
    """Complete per-participant values that link the tables."""

    ids: np.ndarray
    male: np.ndarray
    age: np.ndarray  # exact age at recruitment, years
    birth: np.ndarray  # datetime64[D]
    recruitment: np.ndarray  # datetime64[D]
    townsend: np.ndarray
    bmi: np.ndarray | None = None
    smoking: np.ndarray | None = None  # index into SMOKING_STATUSES
    ldl: np.ndarray | None = None
    sbp: np.ndarray | None = None
    hba1c: np.ndarray | None = None


def random_streams(seed: int) -> tuple[np.random.Generator, ...]:
    children = np.random.SeedSequence(seed).spawn(3)
    return tuple(np.random.default_rng(child) for child in children)


def participants(rng: np.random.Generator, n: int) -> tuple[pa.Table, Latent]:
    ids = np.sort(rng.choice(ID_HIGH - ID_LOW + 1, size=n, replace=False) + ID_LOW).astype(np.int64)
    male = rng.random(n) >= FEMALE_SHARE
    # Ages 40-69 at recruitment, skewed older like the real cohort (mean ~57).
    age = 40.0 + 30.0 * rng.beta(1.5, 1.15, n)
    window = int((RECRUITMENT_END - RECRUITMENT_START).astype(int))
    recruitment = RECRUITMENT_START + rng.integers(0, window + 1, n).astype("timedelta64[D]")
    birth = recruitment - np.floor(age * _DAYS_PER_YEAR).astype("timedelta64[D]")

    centre_weights = np.array([weight for _, weight, _ in ASSESSMENT_CENTRES])
    centre = rng.choice(len(ASSESSMENT_CENTRES), size=n, p=centre_weights / centre_weights.sum())
    centre_offset = np.array([offset for _, _, offset in ASSESSMENT_CENTRES])[centre]
    # Townsend index: right-skewed, mean about -1.3, bounded like the real one.
    townsend = np.clip(-6.3 + rng.gamma(2.6, 1.75, n) + centre_offset - 0.1, -6.3, 11.0)

    ethnic_weights = np.array([weight for _, weight in ETHNICITIES])
    ethnicity = rng.choice(len(ETHNICITIES), size=n, p=ethnic_weights / ethnic_weights.sum())

    table = pa.table(
        {
            "participant_id": pa.array(ids, pa.int64()),
            "sex": _categorical(male.astype(np.int8), SEXES),
            "year_of_birth": pa.array(_year(birth), pa.int32()),
            "age_at_recruitment": pa.array(_completed_years(birth, recruitment), pa.int32()),
            "ethnicity": _categorical(ethnicity, [name for name, _ in ETHNICITIES], rng.random(n) < ETHNICITY_MISSING),
            "assessment_centre": _categorical(centre, [name for name, _, _ in ASSESSMENT_CENTRES]),
            "townsend_deprivation_index": _measure(townsend, 2, rng.random(n) < 0.001),
            "recruitment_date": pa.array(recruitment, pa.date32()),
        }
    )
    latent = Latent(ids, male, age, birth, recruitment, townsend)
    return table, latent


def baseline(rng: np.random.Generator, people: Latent) -> tuple[pa.Table, Latent]:
    n = len(people.ids)
    male, age_c, tdi = people.male, people.age - REF_AGE, people.townsend

    height = np.where(male, rng.normal(175.7, 6.8, n), rng.normal(162.6, 6.2, n))
    height = np.clip(height - 0.12 * age_c - 0.15 * tdi, 135.0, 210.0)
    bmi = np.exp(rng.normal(np.log(27.05) + 0.02 * male + 0.002 * age_c + 0.006 * tdi, 0.16))
    bmi = np.clip(bmi, 14.0, 70.0)
    weight = np.round(bmi * (height / 100.0) ** 2, 1)
    height = np.round(height, 1)

    bmi_c = bmi - REF_BMI
    sbp_noise = rng.normal(0.0, 17.0, n)
    sbp = np.clip(138.0 + 0.65 * age_c + 1.1 * bmi_c + 4.5 * male + sbp_noise, 80, 250)
    dbp = 82.0 + 0.05 * age_c + 0.55 * bmi_c + 2.5 * male + 0.25 * sbp_noise
    dbp += rng.normal(0.0, 8.0, n)
    dbp = np.clip(dbp, 40, sbp - 10)

    p_current = _sigmoid(-2.3 + 0.15 * tdi + 0.2 * male - 0.03 * age_c)
    p_previous = _sigmoid(-0.7 + 0.4 * male + 0.03 * age_c) * (1.0 - p_current)
    u = rng.random(n)
    smoking = np.where(u < p_current, 2, np.where(u < p_current + p_previous, 1, 0)).astype(np.int8)

    # Ordered frequency from a latent propensity cut at the marginal shares.
    drinking = rng.normal(0.0, 1.0, n) + 0.35 * male - 0.05 * tdi
    shares = np.array([share for _, share in ALCOHOL_FREQUENCIES])
    cuts = np.quantile(drinking, np.cumsum(shares / shares.sum())[:-1])
    alcohol = np.searchsorted(cuts, drinking)

    ldl = 3.55 + 0.01 * age_c + 0.03 * bmi_c - 0.1 * male + rng.normal(0.0, 0.85, n)
    ldl = np.clip(ldl, 0.5, 9.5)
    hba1c = np.exp(rng.normal(np.log(35.3) + 0.004 * age_c + 0.009 * bmi_c + 0.004 * tdi, 0.14))
    hba1c = np.clip(hba1c, 15.0, 150.0)

    anthropometry_missing = rng.random(n) < 0.005
    weight_missing = anthropometry_missing | (rng.random(n) < 0.002)
    bp_missing = rng.random(n) < 0.004
    table = pa.table(
        {
            "participant_id": pa.array(people.ids, pa.int64()),
            "height_cm": _measure(height, 1, anthropometry_missing),
            "weight_kg": _measure(weight, 1, weight_missing),
            # Derived from the recorded values, so it is missing when either is.
            "bmi": _measure(weight / (height / 100.0) ** 2, 2, weight_missing),
            "systolic_bp": pa.array(np.round(sbp).astype(np.int32), pa.int32(), mask=bp_missing),
            "diastolic_bp": pa.array(np.round(dbp).astype(np.int32), pa.int32(), mask=bp_missing),
            "smoking_status": _categorical(smoking, SMOKING_STATUSES, rng.random(n) < 0.004),
            "alcohol_frequency": _categorical(
                alcohol, [name for name, _ in ALCOHOL_FREQUENCIES], rng.random(n) < 0.001
            ),
            "ldl_cholesterol": _measure(ldl, 3, rng.random(n) < 0.065),
            "hba1c": _measure(hba1c, 1, rng.random(n) < 0.07),
        }
    )
    return table, replace(people, bmi=bmi, smoking=smoking, ldl=ldl, sbp=sbp, hba1c=hba1c)


def diagnoses(rng: np.random.Generator, people: Latent) -> pa.Table:
    """First diagnosis per (participant, code), 0..N rows per participant.

    A participant has a code with a probability from a logistic model of their
    latent values (see DiagnosisCode); participants are drawn in fixed-size
    blocks so that one matrix product scores every code at once.
    """
    effects = np.array([[getattr(c, name) for c in DIAGNOSIS_CODES] for name in _EFFECTS])
    intercepts = np.log([c.risk / (1.0 - c.risk) for c in DIAGNOSIS_CODES])
    # eligible[is_male, code]: sex-specific codes only for that sex.
    eligible = np.array([[c.sex in (None, sex) for c in DIAGNOSIS_CODES] for sex in SEXES])
    covariates = np.column_stack(
        (
            (people.age - REF_AGE) / 10.0,
            (people.bmi - REF_BMI) / 5.0,
            np.choose(people.smoking, [0.0, 0.5, 1.0]),
            people.male,
            people.ldl - REF_LDL,
            (people.sbp - REF_SBP) / 10.0,
            (people.hba1c - REF_HBA1C) / 5.0,
        )
    )
    rows, codes = [], []
    for start in range(0, len(people.ids), _BLOCK):
        block = slice(start, start + _BLOCK)
        chance = _sigmoid((covariates[block] @ effects + intercepts).astype(np.float32))
        hit = rng.random(chance.shape, dtype=np.float32) < chance
        hit &= eligible[people.male[block].astype(np.intp)]
        row, code = np.nonzero(hit)
        rows.append(row + start)
        codes.append(code.astype(np.int16))
    row, code = np.concatenate(rows), np.concatenate(codes)

    recruitment = people.recruitment[row]
    follow_up = (FOLLOW_UP_END - recruitment).astype(np.int64)
    incident = recruitment + (rng.random(row.size) * (follow_up + 1)).astype("timedelta64[D]")
    # Earlier diagnoses go back up to 15 years, never before age 18.
    adult = people.birth[row] + np.timedelta64(int(18 * _DAYS_PER_YEAR), "D")
    lookback = np.minimum((recruitment - adult).astype(np.int64), int(15 * _DAYS_PER_YEAR))
    prevalent = recruitment - (1 + rng.random(row.size) * lookback).astype("timedelta64[D]")
    date = np.where(rng.random(row.size) < PREVALENT_SHARE, prevalent, incident)

    # Rows are grouped by participant already; order each one's by date, code.
    days = date.astype(np.int64) - date.min().astype(np.int64)
    order = np.argsort((row << 32) | (days << 8) | code)
    return pa.table(
        {
            "participant_id": pa.array(people.ids[row[order]], pa.int64()),
            "icd10_code": _categorical(code[order], [c.code for c in DIAGNOSIS_CODES]),
            "diagnosis_date": pa.array(date[order], pa.date32()),
        }
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _categorical(index: np.ndarray, names, missing: np.ndarray | None = None) -> pa.Array:
    indices = pa.array(index.astype(np.int32), pa.int32(), mask=missing)
    dictionary = pa.array(list(names), pa.string())
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


def _measure(values: np.ndarray, decimals: int, missing: np.ndarray) -> pa.Array:
    return pa.array(np.round(values, decimals), pa.float64(), mask=missing)


def _year(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


def _completed_years(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Age in whole years on a date, as a person would state it."""

    def month_day(dates):
        months = dates.astype("datetime64[M]")
        day = (dates - months.astype("datetime64[D]")).astype(np.int64)
        return (months.astype(np.int64) % 12) * 100 + day

    return _year(on) - _year(birth) - (month_day(on) < month_day(birth))
