"""Leak tracing: a file cut from a project's extract is traced to that project, and only to it."""

from __future__ import annotations

import gzip
import random

import polars as pl
import pytest

from enclave.cohort import generate_cohort
from enclave.extracts.trace import HIGH_PSEUDONYMS, file_tokens, trace_file
from enclave.operations import datasets, projects


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "cohort" / "v1"
    generate_cohort(folder, participants=400, seed=11)
    return folder


@pytest.fixture
def world(ctx, source):
    for name in ("alpha", "beta"):
        projects.create_project(ctx, name)
    datasets.register_dataset(ctx, "cohort", "v1", source)
    datasets.approve_dataset(ctx, "alpha", "cohort", "v1", fields=["sex", "year_of_birth"])
    datasets.approve_dataset(ctx, "beta", "cohort", "v1")
    return ctx


def _extract(ctx, project, table="participants.parquet"):
    return pl.read_parquet(ctx.settings.state_path / "extracts" / project / "cohort" / "v1" / table)


def _canaries(ctx, project):
    from sqlalchemy import select

    from enclave.state.models import DatasetExtract

    with ctx.db.reading() as session:
        return list(
            session.execute(select(DatasetExtract).where(DatasetExtract.project.has(name=project)))
            .scalar_one()
            .canaries
        )


@pytest.mark.parametrize("project", ["alpha", "beta"])
def test_a_csv_cut_from_an_extract_is_traced_to_its_project_only(world, tmp_path, project):
    leak = tmp_path / "leak.csv"
    _extract(world, project).head(50).write_csv(leak)
    report = trace_file(world.db, leak)
    assert [(m.project, m.pseudonyms, m.confidence) for m in report.projects] == [(project, 50, "high")]
    assert report.sources == []


def test_a_parquet_cut_from_an_extract_is_traced(world, tmp_path):
    leak = tmp_path / "leak.parquet"
    _extract(world, "beta", "diagnoses.parquet").sample(30, seed=1).write_parquet(leak)
    report = trace_file(world.db, leak)
    assert [m.project for m in report.projects] == ["beta"] and report.projects[0].extracts == ("cohort@v1",)


def test_a_tsv_gzip_vcf_like_and_text_file_are_traced(world, tmp_path):
    ids = _extract(world, "alpha")["participant_id"].head(12).cast(pl.String).to_list()
    text = tmp_path / "notes.txt"
    text.write_text("We looked at " + ", ".join(ids[:3]) + " and others.\n" + "\t".join(ids[3:]) + "\n")
    vcf = tmp_path / "calls.vcf.gz"
    vcf.write_bytes(
        gzip.compress(
            (
                "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
                + "\t".join(ids)
                + "\n1\t12345\trs1\tA\tG\t.\tPASS\t.\tGT\t"
                + "\t".join(["0/1"] * len(ids))
                + "\n"
            ).encode()
        )
    )
    for leak in (text, vcf):
        report = trace_file(world.db, leak)
        assert [(m.project, m.pseudonyms) for m in report.projects] == [("alpha", 12)], leak


def test_a_few_pseudonyms_give_lower_confidence_and_a_canary_gives_high(world, tmp_path):
    ids = _extract(world, "beta")["participant_id"].cast(pl.String).to_list()
    (tmp_path / "few.txt").write_text(" ".join(ids[:2]))
    assert trace_file(world.db, tmp_path / "few.txt").projects[0].confidence == "medium"
    (tmp_path / "one.txt").write_text(ids[0])
    assert trace_file(world.db, tmp_path / "one.txt").projects[0].confidence == "low"
    canary = _canaries(world, "beta")[0]
    (tmp_path / "canary.txt").write_text(f"id {canary}\n")
    [match] = trace_file(world.db, tmp_path / "canary.txt").projects
    assert (match.project, match.canaries, match.confidence) == ("beta", (canary,), "high")
    assert HIGH_PSEUDONYMS > 2


def test_a_file_from_no_project_matches_none(world, tmp_path):
    numbers = random.Random(5).sample(range(1_000_000, 10_000_000), 2_000)
    leak = tmp_path / "random.csv"
    pl.DataFrame({"participant_id": numbers, "x": range(2_000)}).write_csv(leak)
    report = trace_file(world.db, leak)
    assert report.projects == []
    assert all(s.confidence != "high" for s in report.sources)


def test_source_identifiers_are_reported(world, source, tmp_path):
    leak = tmp_path / "operator.csv"
    pl.read_parquet(source / "baseline.parquet").head(40).write_csv(leak)
    report = trace_file(world.db, leak)
    assert report.projects == []
    assert [(s.dataset, s.identifiers, s.confidence) for s in report.sources] == [("cohort@v1", 40, "high")]


def test_tokens_are_whole_numbers_only(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("a 1234567 b1234567 1234567x 7654321,42\n")
    assert sorted(file_tokens(path).to_list()) == ["1234567", "42", "7654321"]


def test_a_revoked_projects_old_extract_is_still_traced(world, tmp_path):
    leak = tmp_path / "old.csv"
    _extract(world, "alpha").head(20).write_csv(leak)
    datasets.revoke_dataset(world, "alpha", "cohort", "v1")
    assert [m.project for m in trace_file(world.db, leak).projects] == ["alpha"]
