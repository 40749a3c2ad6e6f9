"""How much information a project's extract holds: what budgets are sized to.

Measured as the files' size under lzma (xz, preset 6), not the meter's fast zlib: an insider who
wants the data out can recompress it before printing it, and the budget must hold against that copy.
The extract files are Parquet (zstd), bgzipped VCF and Hail's compressed MatrixTable, so lzma finds
about 10% less than their size on disk, where the meter's zlib finds about 1% less: sized this way,
the days hold both for the files sent as they are and for an lzma copy of them. (Re-encoding the
tables, say without the pseudonym columns, could shrink them further; the days are a bound on
carrying the extracts, not on every summary of them.) Measured once, when the extract is written.

A genotype extract's MatrixTable is imported from its VCF (enclave/extracts/genotypes.py): the same
information twice, so only the VCF is counted. Counting it would double the budget.

lzma is slow (a few MB/s), so measuring stops at `limit`: an extract that large gets the ceiling
budget at any sensible days target, and stopping early can only make its budget smaller.
"""

from __future__ import annotations

import lzma
from pathlib import Path

from ..datasets.genotypes import MATRIX_TABLE, VCF_FILE

CHUNK = 1024 * 1024
PRESET = 6  # xz's default; 9 finds under 1% more on already compressed files, at twice the memory


def measuring_limit(settings) -> int:
    """Where measuring an extract may stop: twice what the ceiling budget carries in the days target."""
    return int(2 * settings.metering_budget_ceiling * settings.metering_days_to_extract)


def file_information(path: Path, limit: int | None = None) -> int:
    """The size of one file under lzma (at least `limit`, if it stopped there)."""
    compressor = lzma.LZMACompressor(preset=PRESET)
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            size += len(compressor.compress(chunk))
            if limit is not None and size >= limit:
                return size
    return size + len(compressor.flush())


def extract_information(folder: Path, limit: int | None = None) -> int:
    """The information in one extract folder (bytes), derived copies left out; stops at `limit`."""
    folder = Path(folder)
    derived = folder / MATRIX_TABLE if (folder / VCF_FILE).is_file() else None
    total = 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        if derived is not None and path.is_relative_to(derived):
            continue
        total += file_information(path, None if limit is None else limit - total)
        if limit is not None and total >= limit:
            break
    return total
