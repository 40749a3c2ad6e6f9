"""Per-project extracts: approved fields only, project pseudonyms, canaries, streamed, all or nothing."""

from __future__ import annotations

import os
import stat
from types import SimpleNamespace

import polars as pl
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from enclave.airlock.directory import EnclaveProjectDirectory
from enclave.cohort import generate_cohort
from enclave.errors import InvalidInput
from enclave.extracts import materialise
from enclave.extracts.keys import KEY_FILE, pseudonym_key
from enclave.extracts.pseudonyms import Pseudonymiser
from enclave.operations import datasets, projects
from enclave.state.models import DatasetApproval, DatasetExtract

PARTICIPANTS = 300
TABLES = ("baseline.parquet", "diagnoses.parquet", "participants.parquet")


@pytest.fixture
def cohort(tmp_path):
    folder = tmp_path / "data" / "cohort" / "v1"
    generate_cohort(folder, participants=PARTICIPANTS, seed=3)
    return folder


@pytest.fixture
def world(ctx, cohort):
    projects.create_project(ctx, "alpha")
    projects.create_project(ctx, "beta")
    datasets.register_dataset(ctx, "cohort", "v1", cohort)
    return ctx


def _extract(ctx, project):
    """The project's current extract record, as plain values."""
    with ctx.db.reading() as session:
        extract = session.execute(
            select(DatasetExtract)
            .where(DatasetExtract.removed_at.is_(None))
            .where(DatasetExtract.project.has(name=project))
        ).scalar_one()
        return SimpleNamespace(
            path=extract.path,
            fields=extract.fields,
            canaries=extract.canaries,
            participants=extract.participants,
            manifest_digest=extract.manifest_digest,
        )


def _ids(folder, table="participants.parquet"):
    return pl.read_parquet(folder / table)["participant_id"]


def test_extract_holds_only_the_approved_fields_and_the_identifier(world):
    datasets.approve_dataset(world, "alpha", "cohort", "v1", fields=["sex", "bmi"])
    folder = world.settings.state_path / "extracts" / "alpha" / "cohort" / "v1"
    assert sorted(p.name for p in folder.iterdir()) == ["baseline.parquet", "participants.parquet"]
    assert pq.read_schema(folder / "participants.parquet").names == ["participant_id", "sex"]
    assert pq.read_schema(folder / "baseline.parquet").names == ["participant_id", "bmi"]
    assert _extract(world, "alpha").fields == ["sex", "bmi"]


def test_every_field_by_default_and_the_extract_is_read_only(world, cohort):
    datasets.approve_dataset(world, "alpha", "cohort", "v1")
    extract = _extract(world, "alpha")
    folder = world.settings.state_path / "extracts" / "alpha" / "cohort" / "v1"
    assert extract.path == str(folder) and extract.participants == PARTICIPANTS
    for table in TABLES:
        assert pq.read_schema(folder / table).names == pq.read_schema(cohort / table).names
        assert not os.stat(folder / table).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert not os.stat(folder).st_mode & stat.S_IWUSR
    assert len(extract.manifest_digest) == 64


def test_no_source_identifier_is_left_and_pseudonyms_are_long(world, cohort):
    datasets.approve_dataset(world, "alpha", "cohort", "v1")
    folder = world.settings.state_path / "extracts" / "alpha" / "cohort" / "v1"
    source = set(_ids(cohort).to_list())
    for table in TABLES:
        ids = _ids(folder, table)
        assert ids.null_count() == 0
        assert not source & set(ids.to_list())
        assert ids.cast(pl.String).str.len_chars().min() >= 16


def test_pseudonyms_are_stable_within_a_project_and_differ_across_projects(world, cohort):
    datasets.approve_dataset(world, "alpha", "cohort", "v1")
    datasets.approve_dataset(world, "beta", "cohort", "v1")
    root = world.settings.state_path / "extracts"
    alpha = _ids(root / "alpha" / "cohort" / "v1")
    beta = _ids(root / "beta" / "cohort" / "v1")
    assert alpha.n_unique() == beta.n_unique() == PARTICIPANTS + materialise.CANARIES
    assert not set(alpha.to_list()) & set(beta.to_list())
    # The same participant has one pseudonym in every table of a project's extract.
    diagnosed = set(_ids(root / "alpha" / "cohort" / "v1", "diagnoses.parquet").to_list())
    assert diagnosed <= set(alpha.to_list())
    # Revoked and approved again, the project gets the same pseudonyms.
    datasets.revoke_dataset(world, "alpha", "cohort", "v1")
    assert not (root / "alpha" / "cohort" / "v1").exists()
    datasets.approve_dataset(world, "alpha", "cohort", "v1")
    assert _ids(root / "alpha" / "cohort" / "v1").to_list() == alpha.to_list()


def test_pseudonymiser_is_keyed_and_one_to_one():
    one, other = Pseudonymiser(b"k" * 32, "alpha", 1), Pseudonymiser(b"j" * 32, "alpha", 1)
    assert one.pseudonym(1000001) == Pseudonymiser(b"k" * 32, "alpha", 1).pseudonym("1000001")
    assert one.pseudonym(1000001) != other.pseudonym(1000001)
    assert str(one.pseudonym(1000001)).startswith("11") and str(
        Pseudonymiser(b"k" * 32, "b", 2).pseudonym(1)
    ).startswith("12")
    values = [one.pseudonym(i) for i in range(20_000)]
    assert len(set(values)) == len(values)


def test_canaries_are_in_every_table_recorded_and_unique_to_the_project(world, cohort):
    datasets.approve_dataset(world, "alpha", "cohort", "v1")
    datasets.approve_dataset(world, "beta", "cohort", "v1")
    alpha, beta = _extract(world, "alpha"), _extract(world, "beta")
    assert len(alpha.canaries) == materialise.CANARIES and not set(alpha.canaries) & set(beta.canaries)
    folder = world.settings.state_path / "extracts" / "alpha" / "cohort" / "v1"
    for table in TABLES:
        frame = pl.read_parquet(folder / table)
        rows = frame.filter(pl.col("participant_id").cast(pl.String).is_in(alpha.canaries))
        assert rows.height == materialise.CANARIES
        assert rows.null_count().sum_horizontal().item() <= frame.null_count().sum_horizontal().item()
    people = pl.read_parquet(folder / "participants.parquet")
    assert people.height == PARTICIPANTS + materialise.CANARIES
    canary_sexes = people.filter(pl.col("participant_id").cast(pl.String).is_in(alpha.canaries))["sex"]
    assert set(canary_sexes.to_list()) <= set(pl.read_parquet(cohort / "participants.parquet")["sex"].to_list())


def test_materialisation_streams_in_batches(world, cohort, monkeypatch):
    table = pq.read_table(cohort / "diagnoses.parquet")
    os.chmod(cohort / "diagnoses.parquet", 0o644)
    pq.write_table(table, cohort / "diagnoses.parquet", row_group_size=50)
    datasets.register_dataset(world, "cohort", "v2", cohort)
    batches = []
    original = Pseudonymiser.map_array

    def counting(self, ids):
        batches.append(len(ids))
        return original(self, ids)

    monkeypatch.setattr(Pseudonymiser, "map_array", counting)
    monkeypatch.setattr(materialise, "BATCH_ROWS", 64)
    datasets.approve_dataset(world, "alpha", "cohort", "v2")
    assert max(batches) <= 64 and len(batches) > table.num_rows // 64
    folder = world.settings.state_path / "extracts" / "alpha" / "cohort" / "v2"
    out = pl.read_parquet(folder / "diagnoses.parquet")
    assert out.height == table.num_rows + materialise.CANARIES
    # Batches agree: a participant's rows keep one pseudonym across batch boundaries.
    canaries = _extract(world, "alpha").canaries
    source = pl.from_arrow(table).with_row_index()
    mapped = out.filter(~pl.col("participant_id").cast(pl.String).is_in(canaries)).with_row_index()
    pairs = source.join(mapped, on="index").select("participant_id", "participant_id_right").unique()
    assert pairs["participant_id"].n_unique() == pairs.height


def test_unknown_field_is_refused_with_the_available_fields_and_leaves_nothing(world):
    with pytest.raises(InvalidInput, match=r"no field height_m\b.*bmi.*sex"):
        datasets.approve_dataset(world, "alpha", "cohort", "v1", fields=["sex", "height_m"])
    assert not (world.settings.state_path / "extracts" / "alpha").exists()
    with world.db.reading() as session:
        assert session.execute(select(func.count()).select_from(DatasetExtract)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(DatasetApproval)).scalar_one() == 0


def test_a_failure_while_writing_leaves_no_folder_and_no_record(world, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(materialise, "_write_lookup", broken)
    with pytest.raises(OSError):
        datasets.approve_dataset(world, "alpha", "cohort", "v1")
    parent = world.settings.state_path / "extracts" / "alpha" / "cohort"
    assert list(parent.iterdir()) == []
    with world.db.reading() as session:
        assert session.execute(select(func.count()).select_from(DatasetApproval)).scalar_one() == 0


def test_dataset_without_parquet_tables_is_refused(ctx, small_dataset):
    projects.create_project(ctx, "alpha")
    datasets.register_dataset(ctx, "notes", "v1", small_dataset)
    with pytest.raises(InvalidInput, match="no Parquet tables"):
        datasets.approve_dataset(ctx, "alpha", "notes", "v1")


def test_the_key_is_created_once_owner_only(settings):
    key = pseudonym_key(settings.hub_dir)
    assert len(key) == 32 and pseudonym_key(settings.hub_dir) == key
    assert stat.S_IMODE(os.stat(settings.hub_dir / KEY_FILE).st_mode) == 0o600


def test_egress_directory_sees_the_projects_pseudonyms_and_extract_tables(world, cohort):
    datasets.approve_dataset(world, "alpha", "cohort", "v1", fields=["sex"])
    directory = EnclaveProjectDirectory()
    directory._settings = world.settings
    identifiers = directory.identifiers("alpha")
    extract = _extract(world, "alpha")
    assert set(extract.canaries) <= identifiers and len(identifiers) == PARTICIPANTS + materialise.CANARIES
    assert not identifiers & set(_ids(cohort).cast(pl.String).to_list())
    assert directory.cohort_tables("alpha") == (
        world.settings.state_path / "extracts" / "alpha" / "cohort" / "v1" / "participants.parquet",
    )
    datasets.revoke_dataset(world, "alpha", "cohort", "v1")
    assert directory.identifiers("alpha") == frozenset() and directory.cohort_tables("alpha") == ()


def test_canaries_are_not_at_a_predictable_place(tmp_path):
    """Canary rows are spliced in among real rows, not appended where an analyst could drop them."""
    import pyarrow as pa

    from enclave.extracts.materialise import _with_canaries

    class Request:
        project, label = "alpha", "cohort@v1"

    real = pa.table({"participant_id": list(range(1000)), "x": list(range(1000))})
    canaries = pa.table({"participant_id": [-1, -2, -3], "x": [0, 0, 0]})
    spliced = _with_canaries(real, canaries, Request, tmp_path / "participants.parquet")
    ids = spliced.column("participant_id").to_pylist()
    assert sorted(ids) == sorted(list(range(1000)) + [-1, -2, -3])
    assert [i for i in ids if i >= 0] == list(range(1000))  # real rows keep their order
    canary_positions = sorted(ids.index(c) for c in (-1, -2, -3))
    assert canary_positions != [1000, 1001, 1002]  # not simply appended
