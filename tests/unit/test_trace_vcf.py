"""Tracing VCFs: sample IDs in the header name the project a VCF was cut from, or the source, or nothing."""

from __future__ import annotations

import gzip
import random

import polars as pl
import pytest

from enclave.cli import main as cli
from enclave.cohort import generate_cohort
from enclave.cohort import genotypes as geno
from enclave.datasets import vcf
from enclave.extracts.trace import trace_file
from enclave.operations import datasets, projects


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate_cohort(root / "cohort" / "v1", participants=400, seed=31)
    geno.generate_genotypes(
        root / "genotypes" / "v1",
        root / "cohort" / "v1",
        samples=60,
        variants=200,
        seed=32,
        causal=1,
        with_matrix_table=False,
    )
    return root / "genotypes" / "v1"


@pytest.fixture
def world(ctx, sources):
    for name in ("alpha", "beta"):
        projects.create_project(ctx, name)
    datasets.register_dataset(ctx, "genotypes", "v1", sources)
    for name in ("alpha", "beta"):
        datasets.approve_dataset(ctx, name, "genotypes", "v1")
    return ctx


def _cut(vcf_path, out, columns, lines=20, compress=False, rename=None):
    """What a leaker might do (like `bcftools view -s ... | head`): some samples, some variants."""
    with gzip.open(vcf_path, "rt") as handle:
        text = handle.read().split("\n")
    head = [line for line in text if line.startswith("##")]
    chrom = next(line for line in text if line.startswith("#CHROM")).split("\t")
    data = [line.split("\t") for line in text if line and not line.startswith("#")][:lines]
    keep = list(range(9)) + [9 + c for c in columns]
    names = [chrom[i] for i in keep]
    if rename:
        names[9:] = rename
    body = "\n".join(head + ["\t".join(names)] + ["\t".join(row[i] for i in keep) for row in data]) + "\n"
    if compress:
        with vcf.bgzf_writer(out) as writer:
            vcf.write_pieces(writer, body.encode())
    else:
        out.write_text(body)
    return names[9:]


def _extract_vcf(ctx, project):
    return ctx.settings.state_path / "extracts" / project / "genotypes" / "v1" / geno.VCF_FILE


@pytest.mark.parametrize("project", ["alpha", "beta"])
@pytest.mark.parametrize("compress", [False, True])
def test_a_vcf_cut_from_a_projects_extract_names_that_project_only(world, tmp_path, project, compress):
    leak = tmp_path / ("leak.vcf.gz" if compress else "leak.vcf")
    _, header = vcf.read_header(_extract_vcf(world, project))
    columns = [i for i, name in enumerate(header) if len(name) > 0][5:30]
    _cut(_extract_vcf(world, project), leak, columns, compress=compress)
    report = trace_file(world.db, leak)
    assert report.evidence == "sample IDs in the VCF header" and report.tokens == 25
    assert [(m.project, m.confidence, m.extracts) for m in report.projects] == [(project, "high", ("genotypes@v1",))]
    assert report.projects[0].pseudonyms + len(report.projects[0].canaries) >= 25 - 3
    assert report.sources == []


def test_a_single_canary_column_is_enough_for_high_confidence(world, tmp_path):
    from sqlalchemy import select

    from enclave.state.models import DatasetExtract

    with world.db.reading() as session:
        canary = (
            session.execute(select(DatasetExtract).where(DatasetExtract.project.has(name="beta")))
            .scalar_one()
            .canaries[0]
        )
    _, header = vcf.read_header(_extract_vcf(world, "beta"))
    leak = tmp_path / "one.vcf"
    _cut(_extract_vcf(world, "beta"), leak, [header.index(canary)])
    [match] = trace_file(world.db, leak).projects
    assert (match.project, match.canaries, match.confidence) == ("beta", (canary,), "high")


def test_a_vcf_from_the_source_matches_the_source_not_a_project(world, sources, tmp_path, monkeypatch, capsys):
    leak = tmp_path / "source.vcf.bgz"
    _cut(sources / geno.VCF_FILE, leak, list(range(40)), compress=True)
    report = trace_file(world.db, leak)
    assert report.projects == []
    assert [(s.dataset, s.identifiers, s.confidence) for s in report.sources] == [("genotypes@v1", 40, "high")]
    monkeypatch.setattr(cli.commands, "operator_context", lambda: world)
    assert cli.main(["trace", str(leak)]) == 0
    out = capsys.readouterr().out
    assert "Matches no project." in out and "matches the source cohort, not a project extract" in out


def test_a_vcf_with_random_sample_ids_matches_nothing(world, sources, tmp_path):
    leak = tmp_path / "random.vcf"
    rng = random.Random(7)
    # Random IDs shaped like pseudonyms (alpha's and beta's prefixes) and like source ids.
    rename = [str(rng.randrange(11 * 10**14, 13 * 10**14)) for _ in range(20)]
    rename += [str(rng.randrange(10**6, 10**7)) for _ in range(5)]
    _cut(sources / geno.VCF_FILE, leak, list(range(25)), rename=rename)
    report = trace_file(world.db, leak)
    assert report.projects == [] and [s for s in report.sources if s.confidence != "low"] == []


def test_positions_and_genotypes_are_not_taken_for_identifiers(world, sources, tmp_path):
    """A VCF's positions are numbers too; in a VCF only the header's sample IDs count."""
    ids = pl.read_parquet(sources / geno.SAMPLES_FILE)["participant_id"].cast(pl.String).to_list()
    leak = tmp_path / "positions.vcf"
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
    leak.write_text(header + "".join(f"chr1\t{i}\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n" for i in ids))
    report = trace_file(world.db, leak)
    assert report.tokens == 0 and report.projects == [] and report.sources == []  # "S1" is no number
    # The same numbers in a text file are candidates, and match the source.
    text = tmp_path / "positions.txt"
    text.write_text("\n".join(ids))
    assert [s.dataset for s in trace_file(world.db, text).sources] == ["genotypes@v1"]


def test_the_cli_names_the_project_and_the_evidence(world, tmp_path, monkeypatch, capsys):
    leak = tmp_path / "leak.vcf.bgz"
    _cut(_extract_vcf(world, "alpha"), leak, list(range(12)), compress=True)
    monkeypatch.setattr(cli.commands, "operator_context", lambda: world)
    assert cli.main(["trace", str(leak)]) == 0
    out = capsys.readouterr().out
    assert "12 numbers (12 distinct) in its sample IDs in the VCF header" in out
    assert "Project alpha: confidence high" in out and "Project beta" not in out and "SOURCE" not in out
