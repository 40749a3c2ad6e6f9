"""Extracts of genotype datasets: the VCF's samples become the project's pseudonyms (the same as in
samples.parquet), canaries join as keyed sample columns, and no source identifier is left anywhere."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess

import polars as pl
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from enclave.cli import main as cli
from enclave.cohort import generate_cohort
from enclave.cohort import genotypes as geno
from enclave.datasets import vcf
from enclave.errors import DatasetIntegrityError, InvalidInput
from enclave.extracts.keys import pseudonym_key
from enclave.extracts.pseudonyms import Pseudonymiser
from enclave.extracts.store import read_pseudonyms
from enclave.operations import datasets, projects
from enclave.state.models import DatasetExtract

SAMPLES, VARIANTS = 50, 300
GT = {"0/0", "0/1", "1/1"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate_cohort(root / "cohort" / "v1", participants=400, seed=21)
    geno.generate_genotypes(
        root / "genotypes" / "v1",
        root / "cohort" / "v1",
        samples=SAMPLES,
        variants=VARIANTS,
        seed=22,
        causal=2,
        with_matrix_table=False,
    )
    return root


@pytest.fixture
def world(ctx, sources):
    for name in ("alpha", "beta"):
        projects.create_project(ctx, name)
    datasets.register_dataset(ctx, "cohort", "v1", sources / "cohort" / "v1")
    datasets.register_dataset(ctx, "genotypes", "v1", sources / "genotypes" / "v1")
    return ctx


def _folder(ctx, project, name="genotypes"):
    return ctx.settings.state_path / "extracts" / project / name / "v1"


def _record(ctx, project, name="genotypes"):
    with ctx.db.reading() as session:
        extract = session.execute(
            select(DatasetExtract).where(
                DatasetExtract.removed_at.is_(None),
                DatasetExtract.project.has(name=project),
                DatasetExtract.dataset.has(name=name),
            )
        ).scalar_one()
        return extract.canaries, extract.lookup_path, extract.participants


def _rows(path):
    with gzip.open(path, "rt") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if not line.startswith("#")]


def _source_ids(sources):
    return [str(i) for i in pl.read_parquet(sources / "genotypes" / "v1" / geno.SAMPLES_FILE)["participant_id"]]


def test_vcf_samples_are_the_projects_pseudonyms_and_canaries_with_the_right_genotypes(world, sources):
    datasets.approve_dataset(world, "alpha", "genotypes", "v1")
    folder = _folder(world, "alpha")
    assert sorted(p.name for p in folder.iterdir()) == sorted([geno.SAMPLES_FILE, geno.VCF_FILE])
    subprocess.run(["gzip", "-t", str(folder / geno.VCF_FILE)], check=True)
    canaries, _, participants = _record(world, "alpha")
    assert participants == SAMPLES

    _, header = vcf.read_header(folder / geno.VCF_FILE)
    samples = pl.read_parquet(folder / geno.SAMPLES_FILE)
    assert len(header) == SAMPLES + len(canaries) == samples.height
    assert set(header) == set(samples["participant_id"].cast(pl.String)) and set(canaries) <= set(header)

    # Recompute the pseudonyms with the installation's key: every real column holds its participant's genotypes.
    project_id = next(p.id for p in projects.list_projects(world) if p.name == "alpha")
    pseudonyms = Pseudonymiser(pseudonym_key(world.settings.hub_dir), "alpha", project_id)
    source_ids = _source_ids(sources)
    column_of = {str(pseudonyms.pseudonym(s)): i for i, s in enumerate(source_ids)}
    source_rows, rows = _rows(sources / "genotypes" / "v1" / geno.VCF_FILE), _rows(folder / geno.VCF_FILE)
    assert len(rows) == VARIANTS
    for source_row, row in zip(source_rows, rows):
        assert row[:9] == source_row[:9]
        for name, value in zip(header, row[9:]):
            if name not in canaries:
                assert value == source_row[9 + column_of[name]]
    # Canary genotypes are plausible, and no canary copies one real participant's genotypes.
    for canary in canaries:
        at = header.index(canary)
        genotypes = [row[9 + at] for row in rows]
        assert set(genotypes) <= GT
        assert all(genotypes != [row[9 + i] for row in rows] for i in range(len(header)) if header[i] != canary)


def test_one_participant_has_one_pseudonym_across_a_projects_extracts_and_others_per_project(world, sources):
    for project in ("alpha", "beta"):
        datasets.approve_dataset(world, project, "genotypes", "v1")
    datasets.approve_dataset(world, "alpha", "cohort", "v1")
    _, alpha = vcf.read_header(_folder(world, "alpha") / geno.VCF_FILE)
    _, beta = vcf.read_header(_folder(world, "beta") / geno.VCF_FILE)
    phenotypes = set(
        pl.read_parquet(_folder(world, "alpha", "cohort") / "participants.parquet")["participant_id"].cast(pl.String)
    )
    alpha_canaries, beta_canaries = _record(world, "alpha")[0], _record(world, "beta")[0]
    assert set(alpha) - set(alpha_canaries) <= phenotypes  # analysts can join genotypes to phenotypes
    assert not set(alpha) & set(beta)
    assert set(beta_canaries) <= set(beta) and not set(beta_canaries) & set(alpha_canaries)
    # Column order is keyed per project: position does not link alpha's and beta's pseudonyms of a person.
    project_ids = {p.name: p.id for p in projects.list_projects(world)}
    key = pseudonym_key(world.settings.hub_dir)
    order = {}
    for project, header in (("alpha", alpha), ("beta", beta)):
        back = {str(Pseudonymiser(key, project, project_ids[project]).pseudonym(s)): s for s in _source_ids(sources)}
        order[project] = [back.get(name, "canary") for name in header]
    assert order["alpha"] != order["beta"]
    assert order["alpha"][:SAMPLES] != _source_ids(sources)
    assert [n for n in order["alpha"] if n == "canary"] == ["canary"] * len(alpha_canaries)


def _whole_numbers(data: bytes) -> set[bytes]:
    return set(re.findall(rb"(?<![0-9])[0-9]+(?![0-9])", data))


def test_no_source_identifier_is_anywhere_in_the_extract_and_the_lookup_lists_every_sample(world, sources):
    datasets.approve_dataset(world, "alpha", "genotypes", "v1")
    folder = _folder(world, "alpha")
    source = {s.encode() for s in _source_ids(sources)}
    # The scan finds the identifiers where they are: in the source dataset's files.
    assert all(_numbers_in_file(p) & source for p in (sources / "genotypes" / "v1").iterdir())
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert not _numbers_in_file(path) & source, path
    _, lookup, _ = _record(world, "alpha")
    _, header = vcf.read_header(folder / geno.VCF_FILE)
    assert set(header) <= set(read_pseudonyms(lookup).cast(pl.String))


def _numbers_in_file(path) -> set[bytes]:
    """Every whole number in the file's bytes, in its decompressed text and in its Parquet values."""
    data = path.read_bytes()
    found = _whole_numbers(data)
    if data[:2] == b"\x1f\x8b":
        found |= _whole_numbers(gzip.decompress(data))
    if data[:4] == b"PAR1":
        table = pq.read_table(path)
        for column in table.columns:
            found |= _whole_numbers("\n".join(map(str, column.to_pylist())).encode())
    return found


def test_fields_choose_sample_columns_and_unknown_fields_are_refused_with_the_rule(world):
    datasets.approve_dataset(world, "alpha", "genotypes", "v1", fields=["trait"])
    folder = _folder(world, "alpha")
    assert pq.read_schema(folder / geno.SAMPLES_FILE).names == ["participant_id", "trait"]
    assert (folder / geno.VCF_FILE).is_file()
    with pytest.raises(InvalidInput, match=r"no field GT\. .*always included whole"):
        datasets.approve_dataset(world, "beta", "genotypes", "v1", fields=["GT"])
    assert not _folder(world, "beta").exists()


def test_identifying_header_lines_are_dropped_and_a_damaged_vcf_leaves_nothing(world, sources, tmp_path):
    source = tmp_path / "genotypes-extra"
    shutil.copytree(sources / "genotypes" / "v1", source)
    text = gzip.decompress((source / geno.VCF_FILE).read_bytes())
    first = _source_ids(sources)[0]
    extra = (f'##SAMPLE=<ID={first},Description="participant">\n##bcftools_viewCommand=view -s {first}\n').encode()
    text = text.replace(b"##reference=", extra + b"##reference=", 1)
    os.remove(source / geno.VCF_FILE)
    with vcf.bgzf_writer(source / geno.VCF_FILE) as writer:
        vcf.write_pieces(writer, text)
    datasets.register_dataset(world, "genotypes", "v2", source)
    datasets.approve_dataset(world, "alpha", "genotypes", "v2")
    meta, _ = vcf.read_header(world.settings.state_path / "extracts" / "alpha" / "genotypes" / "v2" / geno.VCF_FILE)
    assert not [line for line in meta if first.encode() in line]
    assert any(line.startswith(b"##contig=") for line in meta)

    damaged = tmp_path / "damaged"
    shutil.copytree(sources / "genotypes" / "v1", damaged)
    os.remove(damaged / geno.VCF_FILE)
    lines = gzip.decompress((sources / "genotypes" / "v1" / geno.VCF_FILE).read_bytes()).split(b"\n")
    lines[-3] = lines[-3].rsplit(b"\t", 1)[0]  # one sample column short
    with vcf.bgzf_writer(damaged / geno.VCF_FILE) as writer:
        vcf.write_pieces(writer, b"\n".join(lines))
    datasets.register_dataset(world, "genotypes", "v3", damaged)
    with pytest.raises(InvalidInput, match="the VCF is damaged"):
        datasets.approve_dataset(world, "beta", "genotypes", "v3")
    assert not (world.settings.state_path / "extracts" / "beta" / "genotypes" / "v3").exists()
    assert not list((world.settings.state_path / "extracts" / "beta" / "genotypes").glob(".*"))


def test_verify_re_hashes_extracts_and_names_the_project_and_file(world, monkeypatch, capsys):
    datasets.approve_dataset(world, "alpha", "genotypes", "v1")
    datasets.approve_dataset(world, "beta", "genotypes", "v1")
    assert datasets.check_extracts_integrity(world, "genotypes", "v1") == 2
    monkeypatch.setattr(cli.commands, "operator_context", lambda: world)
    assert cli.main(["dataset", "verify", "genotypes", "v1"]) == 0
    assert "so do its 2 project extract(s)" in capsys.readouterr().out

    target = _folder(world, "beta") / geno.VCF_FILE
    os.chmod(target, 0o644)
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(DatasetIntegrityError, match=r"project beta: genotypes\.vcf\.bgz") as refusal:
        datasets.check_extracts_integrity(world, "genotypes", "v1")
    assert "alpha" not in str(refusal.value)
    assert cli.main(["dataset", "verify", "genotypes", "v1"]) == 3
    assert "project beta: genotypes.vcf.bgz" in capsys.readouterr().err


def test_matrix_table_extract_carries_the_pseudonyms_and_canaries(ctx, sources, tmp_path):
    """The slower test: Hail builds the source's and the extract's MatrixTables."""
    source = tmp_path / "genotypes-mt" / "v1"
    geno.generate_genotypes(source, sources / "cohort" / "v1", samples=30, variants=120, seed=23, causal=1)
    assert (source / geno.MATRIX_TABLE / "metadata.json.gz").is_file()
    projects.create_project(ctx, "alpha")
    datasets.register_dataset(ctx, "genotypes", "v1", source)
    datasets.approve_dataset(ctx, "alpha", "genotypes", "v1")
    folder = _folder(ctx, "alpha")
    from enclave.datasets.hail_runtime import init_hail

    hl = init_hail()
    for mt_folder, vcf_file in ((source, source), (folder, folder)):
        mt = hl.read_matrix_table(str(mt_folder / geno.MATRIX_TABLE))
        _, header = vcf.read_header(vcf_file / geno.VCF_FILE)
        assert mt.s.collect() == header
        assert mt.count_rows() == 120
        assert mt.aggregate_entries(hl.agg.count_where(hl.is_defined(mt.GT))) == 120 * len(header)
    canaries, _, _ = _record(ctx, "alpha")
    extract_ids = set(hl.read_matrix_table(str(folder / geno.MATRIX_TABLE)).s.collect())
    assert set(canaries) <= extract_ids
    assert not extract_ids & {str(i) for i in pl.read_parquet(source / geno.SAMPLES_FILE)["participant_id"]}
    manifest_paths = {e["path"] for e in __import__("json").loads(_manifest(ctx))["entries"]}
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert manifest_paths == on_disk and any(p.startswith(geno.MATRIX_TABLE + "/") for p in on_disk)


def _manifest(ctx):
    with ctx.db.reading() as session:
        return session.execute(select(DatasetExtract.manifest_json)).scalar_one()


def test_the_airlocks_identifier_check_sees_the_vcf_samples_and_canaries(world, sources):
    from enclave.airlock.directory import EnclaveProjectDirectory

    datasets.approve_dataset(world, "alpha", "genotypes", "v1")
    directory = EnclaveProjectDirectory()
    directory._settings = world.settings
    _, header = vcf.read_header(_folder(world, "alpha") / geno.VCF_FILE)
    identifiers = directory.identifiers("alpha")
    assert set(header) <= identifiers and set(_record(world, "alpha")[0]) <= identifiers
    assert not identifiers & set(_source_ids(sources))
    assert directory.cohort_tables("alpha") == (_folder(world, "alpha") / geno.SAMPLES_FILE,)
