"""A real workspace of a project approved for genotypes sees the project's genotype extract: the VCF,
the MatrixTable and samples.parquet, with the project's pseudonyms and canaries, never source ids."""

from __future__ import annotations

import json

import polars as pl
from sqlalchemy import select

from enclave.cohort import genotypes as geno
from enclave.operations import datasets
from enclave.state.models import DatasetExtract
from tests.support.workspaces import Workspace

MOUNT = "/data/genotypes/v1"

READ_EXTRACT = f"""
import gzip, json, os, pyarrow.parquet as pq
with gzip.open('{MOUNT}/{geno.VCF_FILE}', 'rt') as handle:
    header = next(line for line in handle if line.startswith('#CHROM')).rstrip('\\n').split('\\t')
    columns, variants = set(), 0
    for line in handle:
        columns.add(line.count('\\t') + 1)
        variants += 1
print(json.dumps({{
    'files': sorted(os.listdir('{MOUNT}')),
    'mt': sorted(os.listdir('{MOUNT}/{geno.MATRIX_TABLE}')),
    'vcf_samples': header[9:],
    'vcf_columns': sorted(columns),
    'variants': variants,
    'parquet_ids': [str(i) for i in pq.read_table('{MOUNT}/{geno.SAMPLES_FILE}')['participant_id'].to_pylist()],
    'writable': os.access('{MOUNT}/{geno.VCF_FILE}', os.W_OK),
}}))
"""


def test_a_workspace_sees_the_projects_genotype_extract(enclave, genotypes_v1):
    source = genotypes_v1
    datasets.approve_dataset(enclave.ctx, "gamma", "genotypes", "v1")
    enclave.ctx.workspaces.stop("gamma")  # a running workspace keeps the mounts it started with
    workspace = Workspace(enclave, "dave", "gamma")
    try:
        seen = json.loads(workspace.run(READ_EXTRACT))
    finally:
        workspace.stop()
        datasets.revoke_dataset(enclave.ctx, "gamma", "genotypes", "v1")

    source_ids = {str(i) for i in pl.read_parquet(source / geno.SAMPLES_FILE)["participant_id"]}
    with enclave.ctx.db.reading() as session:
        canaries = (
            session.execute(
                select(DatasetExtract.canaries)
                .where(DatasetExtract.project.has(name="gamma"), DatasetExtract.dataset.has(name="genotypes"))
                .order_by(DatasetExtract.id.desc())
            )
            .scalars()
            .first()
        )
    assert seen["files"] == sorted([geno.MATRIX_TABLE, geno.SAMPLES_FILE, geno.VCF_FILE])
    assert "metadata.json.gz" in seen["mt"] and "cols" in seen["mt"] and "entries" in seen["mt"]
    assert len(seen["vcf_samples"]) == len(source_ids) + len(canaries)
    assert set(seen["vcf_samples"]) == set(seen["parquet_ids"])  # one pseudonym per person in both files
    assert set(canaries) <= set(seen["vcf_samples"])
    assert not set(seen["vcf_samples"]) & source_ids
    assert min(len(s) for s in seen["vcf_samples"]) >= 16
    assert seen["vcf_columns"] == [9 + len(seen["vcf_samples"])] and seen["variants"] > 0
    assert seen["writable"] is False
