"""Writing one project's extract of a dataset, streaming its Parquet tables batch by batch.

The extract holds the dataset's Parquet tables only: other files (notes,
CSV exports, documents) could carry identifiers that cannot be replaced, so
they are left out. The exception is a genotype dataset's VCF and its
MatrixTable, whose sample identifiers are replaced too (genotypes.py). Each
table keeps the approved fields and the identifier column, whose values
become the project's pseudonyms, and gains one row per canary participant.
Everything is written in a temporary folder beside the destination and
renamed into place, so an extract is either whole or absent. The airlock's
sketches of its tables are then written beside it (enclave/airlock/sketches.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..datasets.manifest import Manifest, compute_manifest
from ..errors import InvalidInput
from . import genotypes
from .pseudonyms import Pseudonymiser

CANARIES = 3
BATCH_ROWS = 65_536
ROW_GROUP_ROWS = 131_072
LOOKUP_COLUMN = "pseudonym"


@dataclass(frozen=True)
class ExtractRequest:
    source: Path  # the registered dataset's folder
    label: str  # name@version, part of each canary's identity
    identifier_column: str
    project: str
    project_id: int
    fields: tuple[str, ...] | None  # None: every column


@dataclass(frozen=True)
class WrittenExtract:
    path: Path
    manifest: Manifest
    canaries: tuple[str, ...]
    participants: int


def parquet_tables(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.parquet") if p.is_file())


def plan_columns(request: ExtractRequest) -> dict[Path, list[str]]:
    """The columns each table contributes; raise InvalidInput for an unknown field or nothing to extract."""
    tables = parquet_tables(request.source)
    if not tables:
        raise InvalidInput(f"{request.label} holds no Parquet tables; extracts are made from Parquet tables only.")
    schemas = {t: pq.read_schema(t).names for t in tables}
    available = sorted({c for names in schemas.values() for c in names} - {request.identifier_column})
    if request.fields is not None:
        unknown = sorted(set(request.fields) - set(available))
        if unknown:
            note = f" ({genotypes.FIELDS_NOTE}.)" if genotypes.is_genotype_dataset(request.source) else ""
            raise InvalidInput(
                f"{request.label} has no field {', '.join(unknown)}. Its fields are: {', '.join(available)}.{note}"
            )
    plan = {}
    for table, names in schemas.items():
        wanted = [
            c for c in names if c != request.identifier_column and (request.fields is None or c in request.fields)
        ]
        if wanted or request.fields is None:
            plan[table] = ([request.identifier_column] if request.identifier_column in names else []) + wanted
    if not any(plan.values()):
        raise InvalidInput(f"No table of {request.label} has the fields {', '.join(request.fields or [])}.")
    return plan


def write_extract(
    request: ExtractRequest, key: bytes, destination: Path, lookup: Path, batch_rows: int | None = None
) -> WrittenExtract:
    """Write the extract to `destination` (which must not exist) and its pseudonym list to `lookup`."""
    columns = plan_columns(request)
    batch_rows = batch_rows or BATCH_ROWS
    destination = Path(destination)
    if destination.exists():
        raise InvalidInput(f"{destination} exists already; remove it or choose another version.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.parent / f".{destination.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    pseudonyms = Pseudonymiser(key, request.project, request.project_id)
    canaries = [pseudonyms.canary(request.label, n) for n in range(CANARIES)]
    try:
        partial.mkdir()
        for table, names in columns.items():
            out = partial / table.relative_to(request.source)
            out.parent.mkdir(parents=True, exist_ok=True)
            _write_table(table, names, out, request, pseudonyms, canaries, batch_rows)
        if genotypes.is_genotype_dataset(request.source):
            genotypes.write_genotype_extract(
                request.source, partial, pseudonyms, canaries, request.project, request.label
            )
        participants = len(pseudonyms.mapping) - CANARIES
        _write_lookup(lookup, pseudonyms)
        _make_read_only(partial)
        manifest = compute_manifest(partial)
        os.rename(partial, destination)
    except BaseException:
        remove_tree(partial)
        raise
    return WrittenExtract(destination, manifest, tuple(str(c) for c in canaries), participants)


def _write_table(
    table: Path,
    names: list[str],
    out: Path,
    request: ExtractRequest,
    pseudonyms: Pseudonymiser,
    canaries: list[int],
    batch_rows: int,
) -> None:
    source = pq.ParquetFile(table)
    names = [n for n in source.schema_arrow.names if n in names]  # the order batches come in
    id_column = request.identifier_column
    has_ids = id_column in names
    schema = pa.schema(
        [pa.field(id_column, pa.int64()) if f.name == id_column else f for f in source.schema_arrow if f.name in names]
    )
    schema = pa.schema([schema.field(n) for n in names])
    canaries_placed = not has_ids
    with pq.ParquetWriter(out, schema, compression="zstd", write_statistics=True) as writer:
        for batch in source.iter_batches(batch_size=batch_rows, columns=names):
            if has_ids:
                index = names.index(id_column)
                batch = batch.set_column(index, id_column, pseudonyms.map_array(batch.column(index)))
            batch = pa.Table.from_batches([batch]).cast(schema)
            if not canaries_placed and batch.num_rows:
                batch = _with_canaries(batch, _canary_rows(batch, id_column, canaries, request), request, table)
                canaries_placed = True
            writer.write_table(batch, row_group_size=ROW_GROUP_ROWS)


def _with_canaries(batch: pa.Table, canary_rows: pa.Table, request: ExtractRequest, table: Path) -> pa.Table:
    """Splice each canary row in at a keyed position among the real rows, so none sits at a
    predictable place (the end of a table, say) where an analyst could drop it."""
    positions = []
    for number in range(canary_rows.num_rows):
        seed = hashlib.sha256(f"{request.project}\x00{request.label}\x00{table.name}\x00at{number}".encode())
        positions.append(int.from_bytes(seed.digest()[:8], "big") % (batch.num_rows + 1))
    pieces, start = [], 0
    for number, at in sorted(enumerate(positions), key=lambda pair: pair[1]):
        pieces += [batch.slice(start, at - start), canary_rows.slice(number, 1)]
        start = at
    pieces.append(batch.slice(start))
    return pa.concat_tables(pieces)


def _canary_rows(sample: pa.Table, id_column: str, canaries: list[int], request: ExtractRequest) -> pa.Table:
    """One row per canary, each value taken from a different real row of `sample`, so every value is
    plausible but no row copies a real participant. The choice is keyed by project and table."""
    columns = {}
    for name in sample.column_names:
        if name == id_column:
            columns[name] = pa.array(canaries, pa.int64())
            continue
        picks = []
        for number in range(len(canaries)):
            seed = hashlib.sha256(f"{request.project}\x00{request.label}\x00{name}\x00{number}".encode()).digest()
            picks.append(int.from_bytes(seed[:8], "big") % sample.num_rows)
        columns[name] = sample.column(name).take(pa.array(picks))
    return pa.table(columns, schema=sample.schema)


def _write_lookup(lookup: Path, pseudonyms: Pseudonymiser) -> None:
    """The project's pseudonyms of this extract, sorted, for tracing (kept with the key, never mounted)."""
    lookup = Path(lookup)
    lookup.parent.mkdir(parents=True, exist_ok=True)
    values = pa.array(sorted(pseudonyms.mapping.values()), pa.int64())
    partial = lookup.with_name(f".{lookup.name}.partial")
    pq.write_table(pa.table({LOOKUP_COLUMN: values}), partial, compression="zstd")
    os.chmod(partial, 0o600)
    os.replace(partial, lookup)


def _make_read_only(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for name in files:
            os.chmod(os.path.join(root, name), 0o444)
        os.chmod(root, 0o555)


def remove_tree(folder: Path) -> None:
    """Remove a (possibly read-only) extract folder."""
    folder = Path(folder)
    if not folder.exists():
        return
    for root, dirs, files in os.walk(folder):
        os.chmod(root, stat.S_IRWXU)
    shutil.rmtree(folder)
