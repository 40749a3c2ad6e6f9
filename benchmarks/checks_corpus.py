"""A corpus for the airlock's automatic checks: disguised leaks of a demo-like extract, and legitimate outputs.

    corpus = build_corpus(folder, participants=3_000)   # deterministic for a seed
    corpus.context                                      # CheckContext: the extract's identifiers and tables
    for item in corpus.items: item.name, item.leak, item.kind, item.path

The extract is made the way the enclave makes one (enclave.cohort.generate_cohort,
then enclave.extracts.materialise.write_extract with a fixed key: pseudonyms,
canaries, sketches). Leaks are rows, identifiers or the whole extract dressed
up the ways issue 14 lists, and more; legitimate outputs are what analysts
release: aggregates, means by group, regression and GWAS tables, deciles,
methods text, figures, the outputs of docs/examples and ACRO-shaped outputs.
tests/unit/checks/test_corpus.py pins every item's verdict; bench_checks
prints the shares.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from egress_review.checks import CheckContext, ChecksConfig
from enclave.airlock.sketches import write_extract_sketches
from enclave.cohort import generate_cohort
from enclave.extracts.materialise import ExtractRequest, write_extract
from enclave.extracts.store import read_pseudonyms

SEED = 20260521
KEY = b"corpus-key-".ljust(32, b"\x00")


@dataclass(frozen=True)
class Item:
    name: str  # file name, unique in the corpus
    leak: bool
    kind: str  # the class of disguise, or of legitimate output
    path: Path


@dataclass(frozen=True)
class Corpus:
    context: CheckContext
    items: tuple[Item, ...]


def build_corpus(
    folder: Path, participants: int = 3_000, seed: int = SEED, config: ChecksConfig | None = None
) -> Corpus:
    folder = Path(folder)
    source = folder / "dataset"
    generate_cohort(source, participants=participants, seed=seed)
    request = ExtractRequest(
        source=source,
        label="cohort@v1",
        identifier_column="participant_id",
        project="corpus",
        project_id=1,
        fields=None,
    )
    extract = write_extract(request, KEY, folder / "extract" / "cohort" / "v1", folder / "lookup.parquet")
    write_extract_sketches(extract.path)  # as approving a dataset does
    identifiers = frozenset(str(v) for v in read_pseudonyms(folder / "lookup.parquet").to_list())
    tables = tuple(sorted(extract.path.glob("*.parquet")))
    context = CheckContext(identifiers=identifiers, cohort_tables=tables, config=config or ChecksConfig())
    data = {t.stem: pl.read_parquet(t) for t in tables}
    out = folder / "files"
    out.mkdir()
    items = []
    for name, leak, kind, content in _leaks(data, extract.canaries, seed) + _legitimate(data, seed):
        path = out / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        items.append(Item(name, leak, kind, path))
    names = [i.name for i in items]
    assert len(set(names)) == len(names), "corpus file names must be unique"
    return Corpus(context, tuple(items))


# ---- leaks


def _leaks(
    data: dict[str, pl.DataFrame], canaries: tuple[str, ...], seed: int
) -> list[tuple[str, bool, str, str | bytes]]:
    rng = np.random.default_rng(seed)
    people, base, diag = data["participants"], data["baseline"], data["diagnoses"]
    sample = base.drop_nulls().sample(30, seed=seed)
    measures = sample.select("height_cm", "weight_kg", "bmi", "systolic_bp", "diastolic_bp", "ldl_cholesterol")
    renamed = measures.rename(
        {
            "height_cm": "h",
            "weight_kg": "w",
            "bmi": "q",
            "systolic_bp": "a",
            "diastolic_bp": "b",
            "ldl_cholesterol": "z",
        }
    )
    shuffled = renamed.select("z", "a", "q", "w", "b", "h").rename(
        {"z": "var1", "a": "var2", "q": "var3", "w": "var4", "b": "var5", "h": "var6"}
    )
    person = (
        people.drop_nulls()
        .sample(25, seed=seed + 1)
        .select("year_of_birth", "age_at_recruitment", "townsend_deprivation_index", "recruitment_date")
    )
    person_renamed = person.rename(
        {"year_of_birth": "y", "age_at_recruitment": "x1", "townsend_deprivation_index": "x2", "recruitment_date": "d"}
    )
    joined = people.join(base, on="participant_id").drop_nulls().sample(20, seed=seed + 2)
    merged = joined.select("age_at_recruitment", "townsend_deprivation_index", "height_cm", "weight_kg", "bmi").rename(
        lambda c: "m_" + c[:3]
    )
    pairs = diag.sample(40, seed=seed + 3).select("icd10_code", "diagnosis_date")
    pairs_renamed = pairs.rename({"icd10_code": "dx", "diagnosis_date": "when"})
    town_dates = people.drop_nulls().sample(40, seed=seed + 4).select("recruitment_date", "townsend_deprivation_index")
    whole = base.head(2000).write_csv().encode()
    ids = base.get_column("participant_id").head(12).to_list()
    with_ids = base.drop_nulls().head(15)
    rows = [",".join(map(str, r)) for r in renamed.rows()]

    def csv(frame: pl.DataFrame, separator: str = ",") -> str:
        return frame.write_csv(separator=separator)

    def parquet(frame: pl.DataFrame) -> bytes:
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        return buffer.getvalue()

    def markdown(frame: pl.DataFrame) -> str:
        head = "| " + " | ".join(frame.columns) + " |"
        rule = "|" + "---|" * frame.width
        return "\n".join([head, rule] + ["| " + " | ".join(map(str, r)) + " |" for r in frame.rows()]) + "\n"

    def transposed(frame: pl.DataFrame) -> pl.DataFrame:
        flipped = frame.cast(pl.String).transpose(include_header=True, header_name="field")
        return flipped.rename({c: f"p{i}" for i, c in enumerate(flipped.columns[1:])})

    def records(frame: pl.DataFrame) -> list[dict]:
        return [{k: (str(v) if not isinstance(v, (int, float)) else v) for k, v in r.items()} for r in frame.to_dicts()]

    def printed(frame: pl.DataFrame) -> str:
        widths = [max(len(c), *(len(str(v)) for v in frame.get_column(c))) + 2 for c in frame.columns]
        lines = ["    " + "".join(c.rjust(w) for c, w in zip(frame.columns, widths, strict=True))]
        for i, r in enumerate(frame.rows()):
            lines.append(f"{i:<4}" + "".join(str(v).rjust(w) for v, w in zip(r, widths, strict=True)))
        return "\n".join(lines) + "\n"

    def b64(raw: bytes, wrap: int = 0) -> str:
        text = base64.b64encode(raw).decode()
        return "\n".join(text[i : i + wrap] for i in range(0, len(text), wrap)) if wrap else text

    def png_with_text(payload: str) -> bytes:
        def chunk(kind: bytes, body: bytes) -> bytes:
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
        raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"tEXt", b"Comment\x00" + payload.encode())
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b"")
        )

    packed = gzip.compress(whole, mtime=0)
    small_packed = zlib.compress(csv(renamed).encode())
    hexed = [hex(int(i)) for i in ids]
    leaks: list[tuple[str, str, str | bytes]] = [
        # rows with columns renamed, reordered, transposed
        ("renamed_columns.csv", "renamed", csv(renamed)),
        ("shuffled_renamed.csv", "renamed", csv(shuffled)),
        ("renamed.tsv", "renamed", csv(renamed, "\t")),
        ("renamed.parquet", "renamed", parquet(shuffled)),
        ("renamed_table.md", "renamed", markdown(renamed)),
        ("person_renamed.csv", "renamed", csv(person_renamed)),
        ("merged_tables_renamed.csv", "renamed", csv(merged)),
        ("transposed.csv", "transposed", csv(transposed(renamed))),
        ("transposed_people.csv", "transposed", csv(transposed(person_renamed))),
        ("transposed.parquet", "transposed", parquet(transposed(shuffled))),
        ("transposed_records.json", "transposed", json.dumps(transposed(renamed).to_dicts())),
        # rows as JSON, or as lines in a text file
        ("records.json", "json", json.dumps(records(renamed))),
        ("object_of_arrays.json", "json", json.dumps(renamed.to_dict(as_series=False))),
        (
            "pandas_columns.json",
            "json",
            json.dumps({c: {str(i): v for i, v in enumerate(renamed.get_column(c))} for c in renamed.columns}),
        ),
        (
            "pandas_split.json",
            "json",
            json.dumps(
                {
                    "columns": renamed.columns,
                    "index": list(range(renamed.height)),
                    "data": [list(r) for r in renamed.rows()],
                }
            ),
        ),
        ("pandas_index.json", "json", json.dumps({str(i): r for i, r in enumerate(records(renamed))})),
        ("nested.json", "json", json.dumps({"model": "x", "diagnostics": {"rows": records(person_renamed)}})),
        ("json_lines.log", "json", "\n".join(json.dumps(r) for r in records(shuffled)) + "\n"),
        ("comma_lines.log", "lines", "".join(f"2026-05-01 10:00:{i:02d} INFO row {r}\n" for i, r in enumerate(rows))),
        ("comma_lines.txt", "lines", "\n".join(rows) + "\n"),
        ("key_value.log", "lines", "".join(f"h={r[0]} w={r[1]} q={r[2]} a={r[3]}\n" for r in renamed.rows())),
        ("printed_frame.txt", "lines", "Result of the model input check:\n\n" + printed(renamed)),
        ("semicolons.txt", "lines", "\n".join(";".join(map(str, r)) for r in renamed.rows()) + "\n"),
        ("pipes.log", "lines", "\n".join("|".join(map(str, r)) for r in person_renamed.rows()) + "\n"),
        ("titled_table.txt", "lines", "Table 3. Inputs\n\n" + csv(shuffled) + "\nSource: cohort\n"),
        (
            "scattered_lines.log",
            "lines",
            "".join(f"step {i} done in {rng.integers(1, 9)} s\nvalues: {r}\n" for i, r in enumerate(rows)),
        ),
        # narrow tables of rare combinations
        ("diagnosis_pairs.csv", "rare pairs", csv(pairs_renamed)),
        ("diagnosis_pairs.json", "rare pairs", json.dumps(records(pairs_renamed))),
        ("diagnosis_pairs_swapped.txt", "rare pairs", "\n".join(f"{d}, {c}" for c, d in pairs.rows()) + "\n"),
        (
            "date_townsend_pairs.csv",
            "rare pairs",
            csv(town_dates.rename({"recruitment_date": "t", "townsend_deprivation_index": "v"})),
        ),
        # the table compressed and encoded
        ("gzip_base64.txt", "encoded", b64(packed)),
        ("gzip_base64_wrapped.txt", "encoded", b64(packed, 76)),
        ("zlib_base64_in_json.json", "encoded", json.dumps({"note": "model state", "blob": b64(small_packed)})),
        ("bz2_base64.txt", "encoded", b64(bz2.compress(whole))),
        ("xz_base64.log", "encoded", "backup:\n" + b64(lzma.compress(whole), 64) + "\n"),
        ("gzip_hex.txt", "encoded", packed[:20000].hex()),
        ("urlsafe_base64.md", "encoded", "# appendix\n\n" + base64.urlsafe_b64encode(packed).decode() + "\n"),
        ("plain_base64.txt", "encoded", b64(whole[:30000])),
        ("byte_list.txt", "encoded", ", ".join(str(b) for b in packed[:6000])),
        (
            "base64_cells.csv",
            "encoded",
            "part,chunk\n" + "".join(f"{i},{c}\n" for i, c in enumerate(b64(packed[:30000], 60).split("\n"))),
        ),
        ("png_text_payload.png", "encoded", png_with_text(b64(small_packed))),
        ("svg_text_payload.svg", "encoded", _svg(f"<desc>{b64(packed[:4000])}</desc>")),
        ("pdf_payload.pdf", "encoded", _pdf(f"({b64(packed[:4000])}) Tj")),
        ("ascii85.txt", "encoded", base64.a85encode(packed[:20000]).decode()),
        # identifiers in other forms
        ("ids_hex.csv", "identifier forms", "ref,bmi\n" + "".join(f"{h},{20 + i}\n" for i, h in enumerate(hexed))),
        ("ids_spaced.txt", "identifier forms", "\n".join(" ".join(str(i)) for i in ids) + "\n"),
        ("ids_grouped.csv", "identifier forms", "ref,n\n" + "".join(f'"{i:,}",{k}\n' for k, i in enumerate(ids))),
        (
            "ids_dashes.json",
            "identifier forms",
            json.dumps([{"ref": f"{str(i)[:4]}-{str(i)[4:10]}-{str(i)[10:]}"} for i in ids]),
        ),
        (
            "ids_shifted.csv",
            "identifier forms",
            "ref,v\n" + "".join(f"{i + 987654321},{k}\n" for k, i in enumerate(ids)),
        ),
        ("ids_scaled.csv", "identifier forms", "ref,v\n" + "".join(f"{i * 1000},{k}\n" for k, i in enumerate(ids))),
        ("ids_reversed.txt", "identifier forms", "\n".join(str(i)[::-1] for i in ids) + "\n"),
        ("ids_shifted_lines.log", "identifier forms", "".join(f"subject {i - 10**14}\n" for i in ids)),
        ("canaries_hex.txt", "identifier forms", " ".join(hex(int(c)) for c in canaries)),
        # the plain forms (blocked before issue 14 too)
        ("rows_with_ids.csv", "plain", csv(with_ids)),
        ("rows_with_ids.parquet", "plain", parquet(with_ids)),
    ]
    return [(name, True, kind, content) for name, kind, content in leaks]


# ---- legitimate outputs


def _legitimate(data: dict[str, pl.DataFrame], seed: int) -> list[tuple[str, bool, str, str | bytes]]:
    rng = np.random.default_rng(seed + 100)
    people, base, diag = data["participants"], data["baseline"], data["diagnoses"]
    cohort = people.join(base, on="participant_id")
    band = (pl.col("age_at_recruitment") // 10) * 10
    # docs/examples/phenotype_polars.ipynb, the same code
    summary = (
        cohort.with_columns(age_band=band.cast(pl.String) + "-" + (band + 9).cast(pl.String))
        .group_by("age_band", "sex")
        .agg(
            n=pl.len(),
            bmi_mean=pl.col("bmi").mean(),
            bmi_sd=pl.col("bmi").std(),
            ldl_mean=pl.col("ldl_cholesterol").mean(),
            ldl_sd=pl.col("ldl_cholesterol").std(),
        )
        .sort("age_band", "sex")
    )
    measures = ["bmi_mean", "bmi_sd", "ldl_mean", "ldl_sd"]
    small = pl.col("n") < 10
    released = summary.with_columns(
        *[pl.when(small).then(None).otherwise(pl.col(m).round(1)).alias(m) for m in measures],
        n=pl.when(small).then(None).otherwise(((pl.col("n") / 5).round(0) * 5).cast(pl.Int64)),
    )
    counts = cohort.group_by("sex", "assessment_centre").len("n").sort("sex", "assessment_centre")
    means = (
        cohort.group_by("assessment_centre")
        .agg(
            pl.len().alias("n"),
            pl.col("bmi").mean().round(2).alias("mean_bmi"),
            pl.col("height_cm").mean().round(1).alias("mean_height"),
            pl.col("weight_kg").mean().round(1).alias("mean_weight"),
        )
        .sort("assessment_centre")
    )
    by_age = (
        cohort.group_by("age_at_recruitment")
        .agg(
            pl.col("bmi").mean().round(2).alias("mean_bmi"),
            pl.col("ldl_cholesterol").mean().round(3).alias("mean_ldl"),
            pl.len().alias("n"),
        )
        .sort("age_at_recruitment")
    )
    smoking = (
        cohort.group_by("sex", "smoking_status")
        .agg(pl.len().alias("n"), pl.col("systolic_bp").mean().round(1).alias("sbp_mean"))
        .sort("sex", "smoking_status")
    )
    quantiles = [i / 10 for i in range(1, 10)]
    deciles = pl.DataFrame(
        {
            "decile": [f"D{i}" for i in range(1, 10)],
            "bmi": [cohort.get_column("bmi").quantile(q, "nearest") for q in quantiles],
            "height_cm": [cohort.get_column("height_cm").quantile(q, "nearest") for q in quantiles],
            "weight_kg": [cohort.get_column("weight_kg").quantile(q, "nearest") for q in quantiles],
            "townsend": [cohort.get_column("townsend_deprivation_index").quantile(q, "nearest") for q in quantiles],
        }
    )
    terms = ["(Intercept)", "age", "sexMale", "bmi", "smokingCurrent", "smokingPrevious", "ldl"]
    regression = pl.DataFrame(
        {
            "term": terms,
            "estimate": np.round(rng.normal(0, 0.5, len(terms)), 4),
            "std_error": np.round(rng.uniform(0.001, 0.05, len(terms)), 4),
            "z": np.round(rng.normal(0, 5, len(terms)), 2),
            "p_value": [f"{p:.3g}" for p in rng.uniform(0, 0.05, 7)],
        }
    )
    odds = regression.select(
        "term",
        (pl.col("estimate").exp().round(3)).alias("odds_ratio"),
        (pl.col("estimate") - 1.96 * pl.col("std_error")).exp().round(3).alias("ci_low"),
        (pl.col("estimate") + 1.96 * pl.col("std_error")).exp().round(3).alias("ci_high"),
    )
    hits = pl.DataFrame(
        {  # docs/examples/gwas_hail.ipynb's gwas_hits.csv columns
            "locus": [
                f"{c}:{p}" for c, p in zip(rng.integers(1, 23, 25), rng.integers(10**5, 2 * 10**8, 25), strict=True)
            ],
            "alleles": [
                f"{a}/{b}" for a, b in zip(rng.choice(list("ACGT"), 25), rng.choice(list("ACGT"), 25), strict=True)
            ],
            "beta": np.round(rng.normal(0, 0.2, 25), 4),
            "se": np.round(rng.uniform(0.01, 0.03, 25), 4),
            "p": [f"{p:.3g}" for p in 10 ** -rng.uniform(8, 20, 25)],
        }
    )
    variants = pl.DataFrame(
        {
            "variant_id": [f"rs{v}" for v in rng.integers(10**5, 10**8, 40)],
            "chrom": rng.integers(1, 23, 40),
            "pos": rng.integers(10**5, 2 * 10**8, 40),
            "ref": rng.choice(list("ACGT"), 40),
            "alt": rng.choice(list("ACGT"), 40),
            "af": np.round(rng.uniform(0.01, 0.5, 40), 3),
            "p": [f"{p:.2e}" for p in 10 ** -rng.uniform(8, 30, 40)],
        }
    )
    dx_counts = (
        diag.join(people.select("participant_id", "sex"), on="participant_id")
        .group_by("icd10_code", "sex")
        .len("n")
        .filter(pl.col("n") >= 10)
        .sort("icd10_code", "sex")
    )
    by_year = diag.group_by(pl.col("diagnosis_date").dt.year().alias("year")).len("n").sort("year")
    hist = (
        cohort.group_by(((pl.col("bmi") // 2) * 2).alias("bmi_bin")).len("n").filter(pl.col("n") >= 10).sort("bmi_bin")
    )
    describe = pl.DataFrame(
        {
            "variable": ["age", "bmi", "height_cm", "weight_kg", "sbp", "ldl"],
            "mean": [
                round(float(cohort.get_column(c).mean()), 2)
                for c in ("age_at_recruitment", "bmi", "height_cm", "weight_kg", "systolic_bp", "ldl_cholesterol")
            ],
            "sd": [
                round(float(cohort.get_column(c).std()), 2)
                for c in ("age_at_recruitment", "bmi", "height_cm", "weight_kg", "systolic_bp", "ldl_cholesterol")
            ],
        }
    )
    numeric = cohort.select("age_at_recruitment", "bmi", "height_cm", "weight_kg", "systolic_bp").drop_nulls()
    corr = np.round(np.corrcoef(numeric.to_numpy().T), 3)
    correlation = pl.DataFrame({"variable": numeric.columns, **{c: corr[i] for i, c in enumerate(numeric.columns)}})
    km = pl.DataFrame(
        {
            "time_years": list(range(0, 11)),
            "at_risk": [3000 - 180 * t for t in range(11)],
            "events": [0] + [int(x) for x in rng.integers(12, 40, 10)],
            "survival": np.round(np.linspace(1, 0.82, 11), 3),
        }
    )
    acro_results = {
        "version": "0.4.5",
        "tool": {"name": "ACRO", "version": "0.4.5"},
        "results": {
            "output_0": {
                "uid": "output_0",
                "status": "pass",
                "type": "table",
                "properties": {"method": "crosstab"},
                "files": [{"name": "output_0.csv", "sdc": {}}],
                "outcome": {},
                "command": "acro.crosstab(df.sex, df.smoking_status)",
                "summary": "pass",
                "timestamp": "2026-05-01T10:00:00",
                "comments": [],
                "exception": "",
            },
            "output_1": {
                "uid": "output_1",
                "status": "review",
                "type": "regression",
                "properties": {"method": "ols", "dof": 2990},
                "files": [{"name": "output_1.csv"}],
                "outcome": {},
                "command": "acro.ols(y, x)",
                "summary": "review; dof=2990",
                "timestamp": "2026-05-01T10:01:00",
                "comments": [],
                "exception": "",
            },
        },
    }
    acro_crosstab = (
        cohort.group_by("sex", "smoking_status")
        .len("n")
        .drop_nulls()
        .pivot(on="smoking_status", index="sex", values="n")
    )
    acro_regression = (
        "OLS Regression Results\n"
        "Dep. Variable: bmi   R-squared: 0.112\nNo. Observations: 2990   Df Residuals: 2986\n\n"
        + "".join(
            f"{t:<16}{e:>10.4f}{s:>10.4f}{z:>8.2f}\n"
            for t, e, s, z in regression.select("term", "estimate", "std_error", "z").rows()
        )
    )
    methods = (
        "# Methods\n\nWe included participants aged 40-69 at recruitment (n = 2,995 after exclusions). BMI was\n"
        "computed as weight (kg) / height (m)^2. Models were fitted with statsmodels 0.14 (OLS, HC3 errors),\n"
        "adjusting for age, sex and smoking. Counts below 10 were suppressed and all counts rounded to 5.\n"
        "Code: https://example.org/analysis/commit/3f2a9c1; environment sha256 prefix 9b1c2d3e.\n"
    )
    run_log = "".join(
        f"2026-05-01 10:{m:02d}:00 INFO fitted model {m} in {rng.uniform(0.1, 9):.2f} s "
        f"(converged after {rng.integers(3, 30)} iterations)\n"
        for m in range(40)
    )
    metrics = json.dumps(
        {
            "model": "logistic",
            "auc": 0.712,
            "brier": 0.181,
            "n_train": 2395,
            "n_test": 600,
            "calibration": {"slope": 0.97, "intercept": -0.02},
            "thresholds": [0.1, 0.2, 0.3, 0.4, 0.5],
        },
        indent=2,
    )
    legit = [
        ("counts_by_sex_centre.csv", "aggregate", counts.write_csv()),
        ("means_by_centre.csv", "means by group", means.write_csv()),
        ("means_by_age.csv", "means by group", by_age.write_csv()),
        ("sbp_by_sex_smoking.csv", "means by group", smoking.write_csv()),
        ("bmi_by_age_sex.csv", "docs/examples", released.write_csv()),
        ("regression.csv", "regression", regression.write_csv()),
        ("odds_ratios.tsv", "regression", odds.write_csv(separator="\t")),
        ("gwas_hits.csv", "docs/examples", hits.write_csv()),
        ("gwas_top_variants.json", "GWAS", json.dumps(variants.to_dicts())),
        ("deciles.csv", "deciles", deciles.write_csv()),
        ("diagnosis_counts.csv", "aggregate", dx_counts.write_csv()),
        ("diagnoses_by_year.csv", "aggregate", by_year.write_csv()),
        ("bmi_histogram.csv", "aggregate", hist.write_csv()),
        ("describe.md", "summary statistics", _markdown_table(describe)),
        ("correlation.csv", "summary statistics", correlation.write_csv()),
        ("kaplan_meier.csv", "survival", km.write_csv()),
        ("methods.md", "methods text", methods),
        ("analysis_run.log", "methods text", run_log),
        ("model_metrics.json", "metrics", metrics),
        ("results.json", "ACRO", json.dumps(acro_results, indent=2)),
        ("output_0.csv", "ACRO", acro_crosstab.write_csv()),
        ("output_1.txt", "ACRO", acro_regression),
        ("figure.svg", "figure", _svg('<path d="M 0 0 L 10 10 Z"/><text x="1" y="9">BMI by age</text>')),
        ("deciles.parquet", "deciles", _parquet(deciles)),
    ]
    return [(name, False, kind, content) for name, kind, content in legit]


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _markdown_table(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * frame.width
    return "\n".join([head, rule] + ["| " + " | ".join(map(str, r)) + " |" for r in frame.rows()]) + "\n"


def _svg(inner: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">\n' + inner + "\n</svg>\n"
    )


def _pdf(content: str) -> bytes:
    stream = f"BT /F1 12 Tf 10 10 Td {content} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
