"""The airlock's sketches of an extract's tables: written beside the extract, used, removed with it."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from egress_review.checks.cohort_sketch import TableSketch, clear_cache, sidecar, sketch_of
from enclave.airlock.sketches import sketch_folder
from enclave.extracts.store import extract_folder
from enclave.operations import datasets, projects


def test_approving_a_dataset_writes_the_airlocks_sketches_beside_the_extract_and_revoking_removes_them(ctx, tmp_path):
    """The row-level check's sketches are written with the extract, outside the mounted folder."""
    source = tmp_path / "src"
    source.mkdir()
    pq.write_table(pa.table({"eid": list(range(100, 130)), "bmi": [20.5 + i for i in range(30)]}), source / "t.parquet")
    projects.create_project(ctx, "proj")
    datasets.register_dataset(ctx, "data", "v1", source, identifier_column="eid")
    datasets.approve_dataset(ctx, "proj", "data", "v1")
    extract = extract_folder(ctx.settings, "proj", "data", "v1")
    table = extract / "t.parquet"
    saved = sidecar(table)
    assert saved == sketch_folder(extract) / "t.parquet.npz" and saved.exists()
    assert not any(p.suffix == ".npz" for p in extract.rglob("*"))  # nothing new inside the mount
    assert {path.name for path in extract.rglob("*") if path.is_file()} == {"t.parquet"}
    sketch = sketch_of(table, 6)
    assert {c.name: c.distinct for c in sketch.columns}["bmi"] == 30  # canaries copy real rows' values
    datasets.revoke_dataset(ctx, "proj", "data", "v1")
    assert not extract.exists() and not sketch_folder(extract).exists()


def test_a_stale_or_missing_sketch_is_rebuilt_not_used(tmp_path):
    table = tmp_path / "x" / "t.parquet"
    table.parent.mkdir()
    pq.write_table(pa.table({"v": list(range(50))}), table)
    folder = sketch_folder(tmp_path / "x")
    TableSketch.build(table, 6).save(folder / "t.parquet.npz")
    pq.write_table(pa.table({"v": list(range(1000, 1070))}), table)  # the table changed since
    clear_cache()
    assert sketch_of(table, 6).columns[0].distinct == 70
    clear_cache()
    (folder / "t.parquet.npz").unlink()
    assert sketch_of(table, 6).columns[0].distinct == 70
