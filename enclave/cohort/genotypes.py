"""Simulated genotypes for a sample of the cohort, with a trait that has real associations.

The dataset folder ``OUT`` is in the genotype dataset format
(enclave/datasets/genotypes.py: genotypes.vcf.bgz, genotypes.mt/,
samples.parquet); the variants are on the contigs in CONTIGS below, and
samples.parquet holds, per sample::

    OUT/samples.parquet     one row per sample: participant_id (int64, the
                            VCF sample ID as a number), sex (str, "Female" /
                            "Male", from the cohort), age (int32, age at
                            recruitment, from the cohort), trait (float64,
                            the simulated quantitative trait).

The truth is written OUTSIDE the dataset folder, so it can never be part of
a project's extract: by default ``OUT.parent / f"{OUT.name}.truth.json"``
(for the demo: ``<datasets>/genotypes/v1.truth.json``), or the ``truth``
argument. It holds JSON::

    {"seed": S, "samples": N, "variants": M, "trait": "trait",
     "model": "trait = intercept + male*is_male + age*age + sum(beta_i * alt_allele_count_i) + noise",
     "covariates": {"intercept": ..., "male": ..., "age": ...}, "noise_sd": ...,
     "causal": [{"contig": "chr2", "position": 123456, "ref": "A", "alt": "G",
                 "locus": "chr2:123456", "allele_frequency": 0.31, "beta": 0.42}, ...]}

A GWAS of ``trait ~ dosage + sex + age`` (Hail: ``hl.linear_regression_rows(
y=trait, x=mt.GT.n_alt_alleles(), covariates=[1.0, is_male, age])``) finds
every causal variant at p < 5e-8 with the default sizes; variants are
simulated independently (no linkage disequilibrium), so no other variant is
associated beyond chance.
A project's extract also holds a few canary samples (genotypes copied from random real
samples, trait etc. from random real rows); they are harmless in a GWAS.

Python API::

    generate_genotypes(out_dir, cohort, samples=DEFAULT_SAMPLES,
                       variants=DEFAULT_VARIANTS, seed=DEFAULT_SEED,
                       truth=None, causal=DEFAULT_CAUSAL, with_matrix_table=True,
                       hail_tmp=None) -> GenotypesSummary
    truth_path(out_dir) -> Path          # where the truth goes by default
    read_truth(path) -> dict

CLI: ``enclave cohort genotypes OUT --cohort <phenotype folder> --samples N
--variants M --seed S [--truth PATH] [--no-matrix-table]``. ``enclave demo
seed`` registers ``genotypes@v1`` (DEFAULT_SAMPLES x DEFAULT_VARIANTS) beside
the phenotype cohort and approves it for the demo project.

Hail runs on the host with the optional extra ``genomics`` (``pip install
-e '.[genomics]'``) and a Java runtime (scripts/ensure-java.sh); it is
started once per process by ``enclave.datasets.hail_runtime.init_hail`` with
its temporary files and logs under a temporary folder, never the repository.

Same seed, cohort and sizes give the same VCF bytes and the same samples.parquet.

Tests: the session fixture ``genotypes_v1`` (tests/support/fixtures.py)
registers genotypes@v1 once in the shared test enclave (2,000 samples x
5,000 variants, GWAS-detectable); approve it for a project to mount it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..datasets import vcf
from ..datasets.genotypes import MATRIX_TABLE, SAMPLES_FILE, VCF_FILE, write_matrix_table
from .generate import _check_seed, _prepare_out_dir

DEFAULT_SAMPLES = 2_000
DEFAULT_VARIANTS = 20_000
DEFAULT_CAUSAL = 8
DEFAULT_SEED = 20260521

TRAIT = "trait"
# GRCh38 lengths of the contigs the variants are spread over.
CONTIGS = (("chr19", 58_617_616), ("chr20", 64_444_167), ("chr21", 46_709_983), ("chr22", 50_818_468))

MAX_SAMPLES = 500_000
MAX_VARIANTS = 10_000_000
BLOCK_VARIANTS = 1_000  # at most this many variants simulated and written per step ...
BLOCK_GENOTYPES = 8_000_000  # ... and at most this many genotypes (about 40 MB of arrays and text)
VARIANCE_PER_CAUSAL = 0.045  # share of the trait's variance each causal variant explains
MIN_CAUSAL_FREQUENCY = 0.15  # causal variants are common, so the default sizes detect them
COVARIATE_EFFECTS = {"intercept": 0.0, "male": 0.35, "age": 0.025}
SOURCE = "enclave-genotypes-simulator"


@dataclass(frozen=True)
class GenotypesSummary:
    out_dir: Path
    truth: Path
    samples: int
    variants: int
    seed: int
    causal: tuple[str, ...]  # loci "chr:pos" of the causal variants
    files: tuple[str, ...]


def truth_path(out_dir: Path) -> Path:
    """Where the truth goes by default: beside the dataset folder, never inside it."""
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}.truth.json"


def read_truth(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def generate_genotypes(
    out_dir: Path,
    cohort: Path,
    samples: int = DEFAULT_SAMPLES,
    variants: int = DEFAULT_VARIANTS,
    seed: int = DEFAULT_SEED,
    truth: Path | None = None,
    causal: int = DEFAULT_CAUSAL,
    with_matrix_table: bool = True,
    hail_tmp: Path | None = None,
) -> GenotypesSummary:
    """Write the genotype dataset into `out_dir` (absent or empty) and the truth to `truth`.

    Raises ValueError for bad arguments, a cohort that is too small or an
    occupied `out_dir`; on any failure nothing is left in `out_dir`.
    """
    out_dir = Path(out_dir)
    truth = Path(truth) if truth is not None else truth_path(out_dir)
    _check_sizes(samples, variants, causal)
    _check_seed(seed)
    if truth.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(
            f"the truth file {truth} must be outside the dataset folder {out_dir}, "
            "or it would reach every project's extract"
        )
    people = _cohort_people(Path(cohort), samples)
    _prepare_out_dir(out_dir)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    sample_rng, variant_rng, genotype_rng, trait_rng = streams
    try:
        chosen = np.sort(sample_rng.choice(len(people["participant_id"]), size=samples, replace=False))
        people = {k: v[chosen] for k, v in people.items()}
        sites = _sites(variant_rng, variants)
        causal_index = _pick_causal(variant_rng, sites["frequency"], causal)
        dosages = _write_vcf(out_dir / VCF_FILE, people["participant_id"], sites, causal_index, genotype_rng)
        trait, model = _trait(trait_rng, people, sites, causal_index, dosages)
        _write_samples(out_dir / SAMPLES_FILE, people, trait)
        if with_matrix_table:
            write_matrix_table(out_dir / VCF_FILE, out_dir / MATRIX_TABLE, hail_tmp)
        _write_truth(truth, seed, samples, variants, model)
    except BaseException:
        for child in out_dir.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    files = tuple(sorted(p.name for p in out_dir.iterdir()))
    return GenotypesSummary(out_dir, truth, samples, variants, seed, tuple(c["locus"] for c in model["causal"]), files)


def _check_sizes(samples, variants, causal) -> None:
    for name, value, low, high in (
        ("samples", samples, 2, MAX_SAMPLES),
        ("variants", variants, 1, MAX_VARIANTS),
        ("causal", causal, 0, 100),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low:,} to {high:,}, not {value!r}")
    if causal > variants:
        raise ValueError(f"causal ({causal}) cannot exceed variants ({variants})")


def _cohort_people(cohort: Path, samples: int) -> dict[str, np.ndarray]:
    table_path = cohort / "participants.parquet"
    if not table_path.is_file():
        raise ValueError(
            f"{cohort} has no participants.parquet: point --cohort at a folder written by `enclave cohort generate`"
        )
    table = pq.read_table(table_path, columns=["participant_id", "sex", "age_at_recruitment"])
    if table.num_rows < samples:
        raise ValueError(
            f"the cohort in {cohort} has {table.num_rows:,} participants, fewer than the {samples:,} samples asked for"
        )
    return {
        "participant_id": table.column("participant_id").to_numpy(),
        "sex": np.asarray(table.column("sex").to_pylist(), dtype=object),
        "age": table.column("age_at_recruitment").to_numpy(zero_copy_only=False),
    }


def _sites(rng: np.random.Generator, variants: int) -> dict[str, np.ndarray]:
    """Contig, position, alleles and population allele frequency of each variant, sorted by locus."""
    lengths = np.array([length for _, length in CONTIGS], dtype=np.float64)
    per_contig = rng.multinomial(variants, lengths / lengths.sum())
    contig, position = [], []
    for index, ((name, length), count) in enumerate(zip(CONTIGS, per_contig)):
        # Draw distinct positions away from the telomeres (not all of a contig is sequenced).
        chosen = np.unique(rng.integers(length // 100, length - length // 100, size=count * 2 + 10))
        chosen = np.sort(rng.choice(chosen, size=count, replace=False))
        contig.append(np.full(count, index, dtype=np.int8))
        position.append(chosen.astype(np.int64))
    bases = np.array(list("ACGT"))
    ref = rng.integers(0, 4, variants)
    alt = (ref + rng.integers(1, 4, variants)) % 4
    # Alternate-allele frequencies: most variants rare-ish, some common (a U-shaped spectrum folded to 0.5).
    frequency = np.clip(rng.beta(0.6, 1.2, variants) * 0.5, 0.01, 0.5)
    return {
        "contig": np.concatenate(contig),
        "position": np.concatenate(position),
        "ref": bases[ref],
        "alt": bases[alt],
        "frequency": frequency,
    }


def _pick_causal(rng: np.random.Generator, frequency: np.ndarray, causal: int) -> np.ndarray:
    common = np.flatnonzero(frequency >= MIN_CAUSAL_FREQUENCY)
    pool = common if len(common) >= causal else np.arange(len(frequency))
    return np.sort(rng.choice(pool, size=causal, replace=False))


def _write_vcf(
    path: Path, ids: np.ndarray, sites: dict, causal_index: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Write the VCF block by block; return the causal variants' dosages (causal x samples)."""
    dosages = np.zeros((len(causal_index), len(ids)), dtype=np.int8)
    partial = path.with_name(f".{path.name}.partial")
    with vcf.bgzf_writer(partial) as writer:
        vcf.write_pieces(writer, vcf.header(CONTIGS, ids, SOURCE))
        total = len(sites["position"])
        block = max(1, min(BLOCK_VARIANTS, BLOCK_GENOTYPES // len(ids)))
        for start in range(0, total, block):
            stop = min(start + block, total)
            # Hardy-Weinberg genotypes: two independent draws of the alternate allele.
            genotypes = rng.binomial(2, sites["frequency"][start:stop, None], size=(stop - start, len(ids)))
            genotypes = genotypes.astype(np.uint8)
            inside = (causal_index >= start) & (causal_index < stop)
            dosages[inside] = genotypes[causal_index[inside] - start]
            contigs = sites["contig"][start:stop]
            for index in np.unique(contigs):  # a block may straddle two contigs
                rows = np.flatnonzero(contigs == index)
                data = vcf.genotype_lines(
                    CONTIGS[index][0],
                    sites["position"][start:stop][rows],
                    sites["ref"][start:stop][rows],
                    sites["alt"][start:stop][rows],
                    genotypes[rows],
                )
                vcf.write_pieces(writer, data)
    os.replace(partial, path)
    return dosages


def _trait(
    rng: np.random.Generator, people: dict, sites: dict, causal_index: np.ndarray, dosages: np.ndarray
) -> tuple[np.ndarray, dict]:
    """trait = covariates + sum(beta * dosage) + N(0, noise_sd); each causal variant explains
    VARIANCE_PER_CAUSAL of the variance left after covariates."""
    male = (people["sex"] == "Male").astype(np.float64)
    age = people["age"].astype(np.float64)
    share = VARIANCE_PER_CAUSAL * len(causal_index)
    noise_sd = 1.0
    frequency = sites["frequency"][causal_index]
    # Var(beta * dosage) = beta^2 * 2p(1-p); solve for the share of variance wanted.
    size = np.sqrt(VARIANCE_PER_CAUSAL / (1.0 - share) / (2 * frequency * (1 - frequency))) * noise_sd
    beta = size * rng.choice([-1.0, 1.0], size=len(causal_index))
    trait = (
        COVARIATE_EFFECTS["intercept"]
        + COVARIATE_EFFECTS["male"] * male
        + COVARIATE_EFFECTS["age"] * age
        + beta @ dosages.astype(np.float64)
        + rng.normal(0.0, noise_sd, len(male))
    )
    causal = []
    for index, effect in zip(causal_index, beta):
        contig = CONTIGS[sites["contig"][index]][0]
        position = int(sites["position"][index])
        causal.append(
            {
                "contig": contig,
                "position": position,
                "ref": str(sites["ref"][index]),
                "alt": str(sites["alt"][index]),
                "locus": f"{contig}:{position}",
                "allele_frequency": round(float(sites["frequency"][index]), 6),
                "beta": round(float(effect), 6),
            }
        )
    model = {
        "trait": TRAIT,
        "model": "trait = intercept + male*is_male + age*age + sum(beta_i * alt_allele_count_i) + noise",
        "covariates": dict(COVARIATE_EFFECTS),
        "noise_sd": noise_sd,
        "causal": causal,
    }
    return trait, model


def _write_samples(path: Path, people: dict, trait: np.ndarray) -> None:
    table = pa.table(
        {
            "participant_id": pa.array(people["participant_id"], pa.int64()),
            "sex": pa.array(people["sex"].tolist(), pa.string()),
            "age": pa.array(people["age"], pa.int32()),
            TRAIT: pa.array(np.round(trait, 4), pa.float64()),
        }
    )
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial, compression="zstd")
    os.replace(partial, path)


def _write_truth(path: Path, seed: int, samples: int, variants: int, model: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps({"seed": seed, "samples": samples, "variants": variants, **model}, indent=1) + "\n")
    os.replace(partial, path)
