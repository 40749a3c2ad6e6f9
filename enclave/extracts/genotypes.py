"""The genotype part of a project's extract: the VCF with pseudonymised and canary samples, and its MatrixTable.

A genotype dataset is a folder holding genotypes.vcf.bgz (see
enclave/datasets/genotypes.py); its samples.parquet goes through the ordinary
Parquet path. The VCF is streamed line by line:

- header: the sample IDs become the project's pseudonyms (the same
  Pseudonymiser as the Parquet tables, so a participant has one pseudonym
  in samples.parquet and in the VCF); the project's canaries are added as
  sample columns. Every column (real and canary) goes to a keyed position,
  so canaries cannot be dropped as "the last columns" and column position
  does not pair two projects' pseudonyms of one participant. (Genotypes are
  themselves a fingerprint: pseudonyms stop linkage by identifier, not by
  content; keeping projects' extracts apart is the airlock's job.) Meta-information
  lines are kept only if they are of a kind that carries no sample
  identifiers (ALLOWED_META); ##SAMPLE, ##PEDIGREE, tool command lines and
  the like are dropped.
- data lines: the sample fields are reordered the same way; each canary's
  genotype at a variant is copied from a real sample picked (keyed) afresh
  for every variant, so it follows the variant's allele frequency but no
  canary copies a real participant. INFO is kept as it is (the simulated
  datasets have none; summary counts in INFO would not include canaries).

If the source has a MatrixTable, the extract's is imported with Hail from
the extract's VCF, so it carries the same pseudonyms and canaries (a source
without one, made with --no-matrix-table, gives an extract without one).

Field restrictions choose samples.parquet's columns only: the genotypes are
not divisible by field and are always included whole.
"""

from __future__ import annotations

import hashlib
import operator
from pathlib import Path

import numpy as np

from ..datasets import vcf
from ..datasets.genotypes import MATRIX_TABLE, VCF_FILE, write_matrix_table
from ..errors import InvalidInput
from .pseudonyms import Pseudonymiser

ALLOWED_META = (
    b"##fileformat=",
    b"##FILTER=",
    b"##FORMAT=",
    b"##INFO=",
    b"##ALT=",
    b"##contig=",
    b"##reference=",
    b"##source=",
    b"##assembly=",
)
FIELDS_NOTE = f"{VCF_FILE} and {MATRIX_TABLE} are always included whole; fields choose samples.parquet's columns"


def is_genotype_dataset(folder: Path) -> bool:
    return (Path(folder) / VCF_FILE).is_file()


def _keyed_rng(project: str, label: str, purpose: str) -> np.random.Generator:
    seed = hashlib.sha256(f"{project}\x00{label}\x00{purpose}".encode()).digest()
    return np.random.default_rng(int.from_bytes(seed[:16], "big"))


def write_vcf_extract(
    source: Path, out: Path, pseudonyms: Pseudonymiser, canaries: list[int], project: str, label: str
) -> int:
    """Write the project's VCF extract of `source` to `out`; return the number of real samples."""
    meta, samples = vcf.read_header(source)
    if not samples:
        raise InvalidInput(f"{source} has no sample columns; a genotype dataset needs at least one sample.")
    names = [str(pseudonyms.pseudonym(s)) for s in samples] + [str(c) for c in canaries]
    order = _keyed_rng(project, label, "vcf-columns").permutation(len(names))
    pick_columns = operator.itemgetter(*order.tolist())
    picks = _keyed_rng(project, label, "vcf-canary-genotypes")
    real = len(samples)
    with vcf.open_text(source) as reader, vcf.bgzf_writer(out) as writer:
        kept = [line for line in meta if line.startswith(ALLOWED_META)]
        head = b"\n".join(kept + [b"\t".join([vcf.HEADER_LINE_START, *(names[i].encode() for i in order)])]) + b"\n"
        vcf.write_pieces(writer, head)
        pending, size = [], 0
        for number, line in enumerate(reader, 1):
            if line.startswith(b"#") or not line.strip():
                continue
            fields = line.rstrip(b"\r\n").split(b"\t")
            if len(fields) != vcf.FIXED_COLUMNS + real:
                raise InvalidInput(
                    f"{source}: line {number} has {len(fields)} columns, the header "
                    f"{vcf.FIXED_COLUMNS + real}; the VCF is damaged."
                )
            columns = fields[vcf.FIXED_COLUMNS :]
            columns += [columns[i] for i in picks.integers(0, real, len(canaries)).tolist()]
            piece = b"\t".join(fields[: vcf.FIXED_COLUMNS] + list(pick_columns(columns))) + b"\n"
            pending.append(piece)
            size += len(piece)
            if size >= vcf.WRITE_PIECE:
                vcf.write_pieces(writer, b"".join(pending))
                pending, size = [], 0
        vcf.write_pieces(writer, b"".join(pending))
    return real


def write_genotype_extract(
    source: Path, partial: Path, pseudonyms: Pseudonymiser, canaries: list[int], project: str, label: str
) -> None:
    """Write the VCF and MatrixTable of the extract into `partial` (the extract's folder being built)."""
    vcf_out = partial / VCF_FILE
    write_vcf_extract(Path(source) / VCF_FILE, vcf_out, pseudonyms, canaries, project, label)
    if (Path(source) / MATRIX_TABLE).is_dir():  # the extract has the same parts as the source
        write_matrix_table(vcf_out, partial / MATRIX_TABLE)
