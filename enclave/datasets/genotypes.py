"""The genotype dataset format: what a genotype dataset folder holds, whoever wrote it.

A dataset folder (registered as e.g. ``genotypes@v1``)::

    genotypes.vcf.bgz   block-gzipped VCF 4.2 (bgzf, readable by gzip,
                        Hail's import_vcf, bcftools; enclave/datasets/vcf.py
                        writes and reads it); FORMAT is GT only (unphased
                        "0/0", "0/1", "1/1"), QUAL ".", FILTER "PASS",
                        INFO ".", ID "."; biallelic SNPs on GRCh38 contigs
                        ("chr"-prefixed, with ##contig lengths), sorted by
                        contig and position. Sample IDs are participant ids
                        as decimal text (in an extract: the project's
                        pseudonyms, plus canary samples).
    genotypes.mt/       the same data as a Hail MatrixTable
                        (hl.import_vcf(..., reference_genome="GRCh38")):
                        column key ``s`` (str), row key ``locus``,
                        ``alleles``, entry field ``GT``; optional.
    samples.parquet     one row per sample: participant_id (int64, the VCF
                        sample ID as a number) and the sample's phenotypes.

In an extract the VCF/MT sample IDs are the project's pseudonyms as text and
``samples.parquet``'s participant_id holds the same pseudonyms as int64, so
join with ``hl.int64(mt.s)`` or ``samples.participant_id.astype(str)``.

The demo's simulated genotypes (enclave/cohort/genotypes.py) are written in
this format; project extracts (enclave/extracts/genotypes.py), budgets
(enclave/extracts/information.py) and leak tracing read it.
"""

from __future__ import annotations

from pathlib import Path

VCF_FILE = "genotypes.vcf.bgz"
MATRIX_TABLE = "genotypes.mt"
SAMPLES_FILE = "samples.parquet"


def write_matrix_table(vcf_path: Path, destination: Path, hail_tmp: Path | None = None) -> None:
    """Import a GRCh38 VCF with Hail and write it as a MatrixTable at `destination`."""
    from .hail_runtime import init_hail  # Hail is optional (the genomics extra); imported when needed

    hl = init_hail(hail_tmp)
    mt = hl.import_vcf(str(vcf_path), reference_genome="GRCh38", min_partitions=4)
    mt.write(str(destination), overwrite=False)
