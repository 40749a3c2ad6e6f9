"""Simulated genotypes for a sample of the cohort, with a trait that has real associations.

File layout (the dataset folder ``OUT``, registered as e.g. ``genotypes@v1``)::

    OUT/genotypes.vcf.bgz   block-gzipped VCF 4.2 (bgzf, readable by gzip,
                            Hail's import_vcf, bcftools); FORMAT is GT only
                            (unphased "0/0", "0/1", "1/1"), QUAL ".",
                            FILTER "PASS", INFO ".", ID "."; biallelic SNPs on
                            GRCh38 contigs (CONTIGS below, "chr"-prefixed,
                            with ##contig lengths), sorted by contig and
                            position. Sample IDs are participant ids as
                            decimal text (in an extract: the project's
                            pseudonyms, plus canary samples).
    OUT/genotypes.mt/       the same data as a Hail MatrixTable
                            (hl.import_vcf(..., reference_genome="GRCh38")):
                            column key ``s`` (str), row key ``locus``,
                            ``alleles``, entry field ``GT``.
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
     "model": "trait = intercept + beta_sex*male + beta_age*age + sum(beta_i*dosage_i) + noise",
     "covariates": {"intercept": ..., "male": ..., "age": ...}, "noise_sd": ...,
     "causal": [{"contig": "chr2", "position": 123456, "ref": "A", "alt": "G",
                 "locus": "chr2:123456", "allele_frequency": 0.31, "beta": 0.42}, ...]}

A GWAS of ``trait ~ dosage + sex + age`` (Hail: ``hl.linear_regression_rows(
y=trait, x=mt.GT.n_alt_alleles(), covariates=[1.0, is_male, age])``) finds
every causal variant at p < 5e-8 with the default sizes; variants are
simulated independently (no linkage disequilibrium), so no other variant is
associated beyond chance.
In an extract the VCF/MT sample IDs are the project's pseudonyms as text and
``samples.parquet``'s participant_id holds the same pseudonyms as int64, so
join with ``hl.int64(mt.s)`` or ``samples.participant_id.astype(str)``. The
extract also holds a few canary samples (genotypes copied from random real
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
started once per process by ``enclave.cohort.hail_runtime.init_hail`` with
its temporary files and logs under a temporary folder, never the repository.

Same seed, cohort and sizes give the same VCF bytes and the same samples.parquet.
"""

from __future__ import annotations

DEFAULT_SAMPLES = 2_000
DEFAULT_VARIANTS = 20_000
DEFAULT_CAUSAL = 8
DEFAULT_SEED = 20260521

VCF_FILE = "genotypes.vcf.bgz"
MATRIX_TABLE = "genotypes.mt"
SAMPLES_FILE = "samples.parquet"
TRAIT = "trait"
# GRCh38 lengths of the contigs the variants are spread over.
CONTIGS = (("chr19", 58_617_616), ("chr20", 64_444_167), ("chr21", 46_709_983), ("chr22", 50_818_468))
