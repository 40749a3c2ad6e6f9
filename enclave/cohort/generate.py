"""Write a seeded synthetic cohort as Parquet files.

Same seed and size give the same data and, in the same environment, the same
file bytes: rows are in a fixed order, and every writer option that could
vary (compression, row group size, format version) is pinned. pyarrow writes
no timestamps into Parquet metadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from enclave.cohort import simulate

DEFAULT_PARTICIPANTS = 500_000
DEFAULT_SEED = 20260521
MAX_PARTICIPANTS = simulate.MAX_PARTICIPANTS
ROW_GROUP_ROWS = 131_072

_PARQUET_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    row_group_size=ROW_GROUP_ROWS,
    version="2.6",
    data_page_version="1.0",
    use_dictionary=True,
    write_statistics=True,
)


@dataclass(frozen=True)
class CohortSummary:
    """What ``generate_cohort`` wrote: file names are relative to ``out_dir``."""

    out_dir: Path
    participants: int
    seed: int
    files: tuple[str, ...]
    rows: dict[str, int] = field(hash=False)
    identifier_column: str = "participant_id"


def generate_cohort(
    out_dir: Path,
    participants: int = DEFAULT_PARTICIPANTS,
    seed: int = DEFAULT_SEED,
) -> CohortSummary:
    """Generate the cohort into ``out_dir``, which must be absent or empty.

    Writes participants.parquet, baseline.parquet and diagnoses.parquet.
    Raises ValueError for bad arguments or an occupied ``out_dir``.
    """
    _check_count(participants)
    _check_seed(seed)
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir)

    people_rng, baseline_rng, diagnoses_rng = simulate.random_streams(seed)
    people_table, people = simulate.participants(people_rng, participants)
    baseline_table, people = simulate.baseline(baseline_rng, people)
    diagnoses_table = simulate.diagnoses(diagnoses_rng, people)

    tables = {
        "participants.parquet": people_table,
        "baseline.parquet": baseline_table,
        "diagnoses.parquet": diagnoses_table,
    }
    _write_all(out_dir, tables)
    return CohortSummary(
        out_dir=out_dir,
        participants=participants,
        seed=seed,
        files=tuple(tables),
        rows={name: table.num_rows for name, table in tables.items()},
    )


def _check_count(participants) -> None:
    if isinstance(participants, bool) or not isinstance(participants, int):
        raise ValueError(f"participants must be a whole number, not {participants!r}")
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise ValueError(f"participants must be between 1 and {MAX_PARTICIPANTS:,}, got {participants:,}")


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, not {seed!r}")


def _prepare_out_dir(out_dir: Path) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise ValueError(f"{out_dir} exists and is not a directory: choose a new folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise ValueError(f"{out_dir} is not empty; refusing to overwrite it: choose a new or empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_all(out_dir: Path, tables: dict[str, pa.Table]) -> None:
    """Write every file under a temporary name, then rename; leave nothing on failure.

    ``out_dir`` was empty on entry, so removing our names cannot lose other data.
    """
    partials = {name: out_dir / f".{name}.partial" for name in tables}
    try:
        for name, table in tables.items():
            pq.write_table(table, partials[name], **_PARQUET_OPTIONS)
        for name, partial in partials.items():
            os.replace(partial, out_dir / name)
    except BaseException:
        for name, partial in partials.items():
            partial.unlink(missing_ok=True)
            (out_dir / name).unlink(missing_ok=True)
        raise
