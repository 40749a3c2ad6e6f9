"""Writing and reading the parts of a VCF 4.2 file the genotype datasets need.

Genotype blocks are turned into text with numpy (one lookup per genotype
code, no Python loop per genotype); files are block-gzipped with
Biopython's BGZF writer, which Hail, htslib and plain gzip all read.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import InvalidInput, InvalidState

FILE_FORMAT = b"##fileformat=VCFv4.2"
HEADER_LINE_START = b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"
FIXED_COLUMNS = 9  # columns before the first sample
# Biopython's writer copies its buffer once per 64 KiB block, so feed it
# pieces of about that size rather than one large string.
WRITE_PIECE = 64 * 1024

# Genotype code -> its GT text and the separator after it.
_GT_TEXT = np.frombuffer(b"0/0\t0/1\t1/1\t./.\t", dtype=np.uint8).reshape(4, 4)
MISSING = 3


def header(contigs, samples, source: str, reference: str = "GRCh38") -> bytes:
    """The meta-information lines and the #CHROM line, each ending in a newline."""
    lines = [
        FILE_FORMAT,
        b'##FILTER=<ID=PASS,Description="All filters passed">',
        b'##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        *(f"##contig=<ID={name},length={length},assembly={reference}>".encode() for name, length in contigs),
        f"##reference={reference}".encode(),
        f"##source={source}".encode(),
        b"\t".join([HEADER_LINE_START, *(str(s).encode() for s in samples)]),
    ]
    return b"\n".join(lines) + b"\n"


def genotype_lines(contig: str, positions, refs, alts, genotypes: np.ndarray) -> bytes:
    """Data lines for a block of variants: `genotypes` is (variants, samples) of codes 0/1/2 (alt
    allele count) or MISSING."""
    genotypes = np.asarray(genotypes)
    if genotypes.ndim != 2 or genotypes.shape[1] == 0:
        raise ValueError("genotypes must be a (variants, samples) array with at least one sample")
    text = _GT_TEXT[genotypes]  # (variants, samples, 4)
    text[:, -1, 3] = ord("\n")
    rows = text.reshape(len(genotypes), -1)
    prefix = f"{contig}\t{{}}\t.\t{{}}\t{{}}\t.\tPASS\t.\tGT\t"
    return b"".join(
        prefix.format(p, r, a).encode() + row.tobytes() for p, r, a, row in zip(positions, refs, alts, rows)
    )


def bgzf_writer(path: Path):
    """A BGZF writer for `path` (Biopython comes with the optional extra `genomics`)."""
    try:
        from Bio import bgzf
    except ImportError:
        raise InvalidState(
            "Writing block-gzipped VCF needs Biopython from the genomics extra: run `make venv` "
            "or `.venv/bin/pip install -e '.[genomics]'`."
        ) from None
    return bgzf.BgzfWriter(str(path), "wb")


def write_pieces(writer, data: bytes) -> None:
    view = memoryview(data)
    for start in range(0, len(view), WRITE_PIECE):
        writer.write(bytes(view[start : start + WRITE_PIECE]))


def open_text(path: Path):
    """Open a VCF, plain or (b)gzipped, for reading bytes line by line."""
    path = Path(path)
    with path.open("rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


def read_header(path: Path) -> tuple[list[bytes], list[str]]:
    """The meta-information lines (without newlines) and the sample IDs of a VCF.

    Raises InvalidInput if the file does not start like a VCF or has no #CHROM line.
    """
    meta = []
    try:
        with open_text(path) as handle:
            for line in handle:
                line = line.rstrip(b"\r\n")
                if not meta and not line.startswith(b"##fileformat=VCF"):
                    raise InvalidInput(f"{path} is not a VCF file: it does not start with '##fileformat=VCF'.")
                if line.startswith(b"##"):
                    meta.append(line)
                    continue
                if line.startswith(b"#CHROM"):
                    fields = line.decode().split("\t")
                    return meta, fields[FIXED_COLUMNS:]
                break
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as e:
        raise InvalidInput(f"Cannot read {path} as a VCF: {e}.") from None
    raise InvalidInput(f"{path} has no '#CHROM' header line; it is not a complete VCF file.")


def is_vcf(path: Path) -> bool:
    try:
        with open_text(path) as handle:
            return handle.read(len(b"##fileformat=VCF")) == b"##fileformat=VCF"
    except (OSError, EOFError, zlib.error):
        return False
