"""The airlock's sketches of an extract's tables: written beside the extract, used, removed with it."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from egress_review.checks.cohort_sketch import TableSketch, clear_cache, sidecar, sketch_of
from enclave.airlock.sketches import sketch_folder
from enclave.extracts.materialise import ExtractRequest, remove_tree, write_extract


def test_an_extract_gets_the_airlocks_sketches_beside_it_not_inside(tmp_path):
    """The row-level check's sketches are written with the extract, outside the mounted folder."""
    source = tmp_path / "src"
    source.mkdir()
    pq.write_table(pa.table({"eid": list(range(100, 130)), "bmi": [20.5 + i for i in range(30)]}), source / "t.parquet")
    request = ExtractRequest(
        source=source, label="d@1", identifier_column="eid", project="p", project_id=1, fields=None
    )
    written = write_extract(request, b"k" * 32, tmp_path / "out" / "d" / "1", tmp_path / "lookup.parquet")
    table = written.path / "t.parquet"
    saved = sidecar(table)
    assert saved == sketch_folder(written.path) / "t.parquet.npz"
    assert not any(p.suffix == ".npz" for p in written.path.rglob("*"))  # nothing new inside the mount
    assert {e.path for e in written.manifest.entries} == {"t.parquet"}
    sketch = sketch_of(table, 6)
    assert {c.name: c.distinct for c in sketch.columns}["bmi"] == 30  # canaries copy real rows' values
    remove_tree(written.path)
    assert not sketch_folder(written.path).exists()


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
