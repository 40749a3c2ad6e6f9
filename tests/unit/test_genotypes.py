"""Simulated genotypes: a valid block-gzipped VCF, samples from the cohort, a trait with real associations."""

from __future__ import annotations

import gzip
import json
import subprocess

import numpy as np
import polars as pl
import pytest
from Bio import bgzf

from enclave.cli.main import main as cli_main
from enclave.cohort import generate_cohort
from enclave.cohort import genotypes as geno
from enclave.datasets import vcf

SAMPLES, VARIANTS, CAUSAL = 50, 300, 3


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "cohort" / "v1"
    generate_cohort(folder, participants=1500, seed=5)
    return folder


@pytest.fixture(scope="module")
def dataset(cohort, tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "genotypes" / "v1"
    geno.generate_genotypes(
        folder, cohort, samples=SAMPLES, variants=VARIANTS, seed=9, causal=CAUSAL, with_matrix_table=False
    )
    return folder


def _data_lines(path):
    with gzip.open(path, "rt") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if not line.startswith("#")]


def test_files_are_written_and_the_truth_stays_outside_the_dataset_folder(dataset):
    assert sorted(p.name for p in dataset.iterdir()) == sorted([geno.SAMPLES_FILE, geno.VCF_FILE])
    truth = geno.read_truth(geno.truth_path(dataset))
    assert geno.truth_path(dataset).parent == dataset.parent
    assert truth["samples"] == SAMPLES and truth["variants"] == VARIANTS and len(truth["causal"]) == CAUSAL


def test_same_seed_gives_the_same_bytes_and_another_seed_other_data(cohort, dataset, tmp_path):
    again, other = tmp_path / "again", tmp_path / "other"
    geno.generate_genotypes(
        again, cohort, samples=SAMPLES, variants=VARIANTS, seed=9, causal=CAUSAL, with_matrix_table=False
    )
    geno.generate_genotypes(
        other, cohort, samples=SAMPLES, variants=VARIANTS, seed=10, causal=CAUSAL, with_matrix_table=False
    )
    for name in (geno.VCF_FILE, geno.SAMPLES_FILE):
        assert (again / name).read_bytes() == (dataset / name).read_bytes(), name
        assert (other / name).read_bytes() != (dataset / name).read_bytes(), name
    assert geno.read_truth(geno.truth_path(again)) == geno.read_truth(geno.truth_path(dataset))


def test_the_vcf_is_valid_bgzf_that_gzip_and_biopython_read(dataset):
    path = dataset / geno.VCF_FILE
    subprocess.run(["gzip", "-t", str(path)], check=True)
    with open(path, "rb") as handle:
        blocks = list(bgzf.BgzfBlocks(handle))
    assert blocks and blocks[-1][3] == 0  # the empty end-of-file block htslib looks for
    assert all(data_len <= 65536 for _, _, _, data_len in blocks)
    with bgzf.open(str(path), "rt") as reader:
        assert reader.readline() == "##fileformat=VCFv4.2\n"


def test_the_vcf_has_a_correct_header_and_one_gt_per_sample_and_variant(cohort, dataset):
    meta, samples = vcf.read_header(dataset / geno.VCF_FILE)
    assert meta[0] == b"##fileformat=VCFv4.2"
    assert b'##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">' in meta
    contigs = {line for line in meta if line.startswith(b"##contig=")}
    assert contigs == {f"##contig=<ID={n},length={length},assembly=GRCh38>".encode() for n, length in geno.CONTIGS}
    cohort_ids = set(pl.read_parquet(cohort / "participants.parquet")["participant_id"].cast(pl.String))
    assert len(samples) == len(set(samples)) == SAMPLES and set(samples) <= cohort_ids
    table = pl.read_parquet(dataset / geno.SAMPLES_FILE)
    assert table.columns == ["participant_id", "sex", "age", "trait"]
    assert table["participant_id"].cast(pl.String).to_list() == samples

    lines = _data_lines(dataset / geno.VCF_FILE)
    assert len(lines) == VARIANTS
    lengths = dict(geno.CONTIGS)
    loci = [(row[0], int(row[1])) for row in lines]
    order = {name: index for index, (name, _) in enumerate(geno.CONTIGS)}
    assert loci == sorted(loci, key=lambda locus: (order[locus[0]], locus[1])) and len(set(loci)) == VARIANTS
    for row in lines:
        assert len(row) == 9 + SAMPLES
        assert 1 <= int(row[1]) <= lengths[row[0]]
        assert row[3] in "ACGT" and row[4] in "ACGT" and row[3] != row[4]
        assert row[5:9] == [".", "PASS", ".", "GT"]
        assert set(row[9:]) <= {"0/0", "0/1", "1/1"}


def test_genotypes_follow_hardy_weinberg_in_a_larger_sample(cohort, tmp_path):
    out = tmp_path / "hwe"
    geno.generate_genotypes(out, cohort, samples=1000, variants=200, seed=1, causal=0, with_matrix_table=False)
    counts = np.array([[row[9:].count(gt) for gt in ("0/0", "0/1", "1/1")] for row in _data_lines(out / geno.VCF_FILE)])
    p = (counts[:, 1] + 2 * counts[:, 2]) / (2 * counts.sum(axis=1))
    expected = np.stack([(1 - p) ** 2, 2 * p * (1 - p), p**2], axis=1) * counts.sum(axis=1, keepdims=True)
    chi2 = ((counts - expected) ** 2 / np.maximum(expected, 1e-9)).sum(axis=1)
    common = p > 0.05
    # One degree of freedom per variant: the mean statistic is about 1 under HWE (far above if not).
    assert 0.5 < chi2[common].mean() < 1.6


def test_a_regression_finds_the_causal_variants_and_nothing_else(cohort, tmp_path):
    out = tmp_path / "gwas"
    truth_file = tmp_path / "elsewhere" / "truth.json"
    geno.generate_genotypes(
        out, cohort, samples=1500, variants=400, seed=2, causal=5, truth=truth_file, with_matrix_table=False
    )
    truth = json.loads(truth_file.read_text())
    lines = _data_lines(out / geno.VCF_FILE)
    codes = {"0/0": 0.0, "0/1": 1.0, "1/1": 2.0}
    dosage = np.array([[codes[g] for g in row[9:]] for row in lines])
    samples = pl.read_parquet(out / geno.SAMPLES_FILE)
    covariates = np.column_stack(
        [np.ones(len(samples)), (samples["sex"] == "Male").to_numpy(), samples["age"].to_numpy()]
    ).astype(float)
    y = samples["trait"].to_numpy()

    # Residualise on the covariates, then a t statistic per variant (what linear_regression_rows computes).
    def project(m):
        return m - covariates @ np.linalg.lstsq(covariates, m, rcond=None)[0]

    ry, rx = project(y), project(dosage.T)
    beta = rx.T @ ry / (rx**2).sum(axis=0)
    residual = ry[:, None] - rx * beta
    dof = len(y) - covariates.shape[1] - 1
    t = beta / np.sqrt((residual**2).sum(axis=0) / dof / (rx**2).sum(axis=0))
    hits = {f"{lines[i][0]}:{lines[i][1]}" for i in np.flatnonzero(np.abs(t) > 5.45)}  # two-sided p < 5e-8
    assert hits == {c["locus"] for c in truth["causal"]}
    for c in truth["causal"]:
        index = next(i for i, row in enumerate(lines) if f"{row[0]}:{row[1]}" == c["locus"])
        assert np.sign(beta[index]) == np.sign(c["beta"])
        assert abs(beta[index] - c["beta"]) < 0.5 * abs(c["beta"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"samples": 1}, "samples must be"),
        ({"samples": 5000}, "fewer than the 5,000 samples"),
        ({"variants": 0}, "variants must be"),
        ({"variants": 2, "causal": 3}, "cannot exceed"),
        ({"seed": -1}, "seed must be"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(cohort, tmp_path, kwargs, message):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        geno.generate_genotypes(
            out, cohort, **{"samples": 10, "variants": 10, "causal": 1, "with_matrix_table": False, **kwargs}
        )
    assert not out.exists() or not any(out.iterdir())


def test_the_truth_may_not_go_inside_the_dataset_and_the_folder_must_be_empty(cohort, dataset, tmp_path):
    with pytest.raises(ValueError, match="outside the dataset folder"):
        geno.generate_genotypes(tmp_path / "x", cohort, samples=10, variants=10, truth=tmp_path / "x" / "t.json")
    with pytest.raises(ValueError, match="not empty"):
        geno.generate_genotypes(
            dataset, cohort, samples=10, variants=10, truth=tmp_path / "t.json", with_matrix_table=False
        )
    with pytest.raises(ValueError, match="participants.parquet"):
        geno.generate_genotypes(tmp_path / "y", tmp_path, samples=10, variants=10)


def test_the_cli_writes_the_dataset(cohort, tmp_path, capsys):
    out = tmp_path / "cli" / "v1"
    assert (
        cli_main(
            [
                "cohort",
                "genotypes",
                str(out),
                "--cohort",
                str(cohort),
                "--samples",
                "20",
                "--variants",
                "50",
                "--causal",
                "2",
                "--seed",
                "4",
                "--no-matrix-table",
            ]
        )
        == 0
    )
    assert "2 causal variants recorded in" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted([geno.SAMPLES_FILE, geno.VCF_FILE])
    assert (tmp_path / "cli" / "v1.truth.json").is_file()
    assert cli_main(["cohort", "genotypes", str(out), "--cohort", str(cohort), "--samples", "20"]) == 3
    assert "not empty" in capsys.readouterr().err


def test_demo_seed_registers_and_approves_genotypes_beside_the_cohort(ctx):
    from enclave.demo import GENOTYPES, PROJECT, seed_demo
    from enclave.operations import datasets

    seed_demo(ctx, participants=300, genotype_samples=30, genotype_variants=60, say=lambda *_: None)
    labels = {d.label for d in datasets.list_datasets(ctx)}
    assert {"demo-cohort@v1", "genotypes@v1"} <= labels
    folder = ctx.settings.datasets_dir / GENOTYPES[0] / GENOTYPES[1]
    assert geno.truth_path(folder).is_file() and not list(folder.rglob("*truth*"))
    extract = ctx.settings.state_path / "extracts" / PROJECT / "genotypes" / "v1"
    assert sorted(p.name for p in extract.iterdir()) == sorted([geno.MATRIX_TABLE, geno.SAMPLES_FILE, geno.VCF_FILE])
    seed_demo(ctx, participants=300, genotype_samples=30, genotype_variants=60, say=lambda *_: None)  # idempotent
    assert {d.label for d in datasets.list_datasets(ctx)} == labels


def test_the_demo_has_enough_reviewers_to_release(ctx):
    from egress_review.directory import DEFAULT_APPROVALS_REQUIRED
    from enclave.demo import seed_demo
    from enclave.operations import people

    created = seed_demo(ctx, participants=300, genotype_samples=0, say=lambda *_: None)
    reviewers = [u["name"] for u in people.list_users(ctx) if "reviewer" in u["roles"]]
    assert set(reviewers) <= set(created) and len(reviewers) >= DEFAULT_APPROVALS_REQUIRED >= 2
