"""Which project's extract a file found outside came from.

Every whole number in the file (CSV/TSV, Parquet, any text) is a candidate
identifier. In a VCF (plain or gzip/bgzip) the candidates are the sample IDs
of its #CHROM header line: that is where a VCF names participants, while its
positions and genotypes are numbers that would only match by chance.
Candidates are matched, vectorised with polars, against each project's
pseudonyms and canaries (from the pseudonym lists written with each extract,
kept even after revocation) and against the source identifiers of each
registered dataset.

Confidence for a project (pseudonyms are 16+ digits drawn from 10^14 values
per project, so a chance match is about one in 10^8 per number):
  high    a canary matched, or at least HIGH_PSEUDONYMS pseudonyms matched;
  medium  MEDIUM_PSEUDONYMS or more pseudonyms matched;
  low     fewer pseudonyms matched (could be a copied example or a typo).
Source identifiers are short (7 digits in the demo) and random numbers of
that length match them by chance, so a dataset's source match is high only
if at least HIGH_SOURCE identifiers matched and they are at least half of the
numbers of that length in the file, medium if at least MEDIUM_SOURCE matched
and several times more than chance, and low otherwise.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import select

from ..datasets import vcf
from ..errors import InvalidInput
from ..state.db import StateDB
from ..state.models import Dataset, DatasetExtract
from .materialise import parquet_tables
from .store import read_pseudonyms

HIGH_PSEUDONYMS = 10
MEDIUM_PSEUDONYMS = 2
HIGH_SOURCE = 20
MEDIUM_SOURCE = 5
_NUMBER = r"\b\d+\b"

RULE = (
    f"confidence: high = a canary or >= {HIGH_PSEUDONYMS} pseudonyms matched; medium = "
    f">= {MEDIUM_PSEUDONYMS}; low = fewer. Source identifiers: high = >= {HIGH_SOURCE} matched and at "
    f"least half the numbers of their length; medium = >= {MEDIUM_SOURCE} and 5x chance; low = otherwise."
)


@dataclass(frozen=True)
class ProjectMatch:
    project: str
    pseudonyms: int  # distinct pseudonyms matched
    canaries: tuple[str, ...]
    confidence: str
    extracts: tuple[str, ...]  # name@version of the extracts matched


@dataclass(frozen=True)
class SourceMatch:
    dataset: str  # name@version
    identifiers: int
    expected_by_chance: float
    confidence: str


@dataclass(frozen=True)
class TraceReport:
    file: Path
    tokens: int  # whole numbers in the file (in a VCF: in its sample IDs)
    distinct_tokens: int
    projects: list[ProjectMatch] = field(default_factory=list)
    sources: list[SourceMatch] = field(default_factory=list)
    evidence: str = "whole numbers in the file"


def _member(values: pl.Series, known: pl.Series) -> pl.Series:
    """Whether each value is in `known` (a hash join inside polars, no Python loop)."""
    return values.is_in(known.implode())


def _numbers_in_strings(column: pl.Series) -> pl.Series:
    return column.cast(pl.String).str.extract_all(_NUMBER).explode().drop_nulls()


def vcf_sample_tokens(path: Path) -> pl.Series | None:
    """The numbers in a VCF's header sample IDs, or None if the file is not a VCF with a #CHROM line."""
    if not vcf.is_vcf(path):
        return None
    try:
        _, samples = vcf.read_header(path)
    except InvalidInput:
        return None
    return _numbers_in_strings(pl.Series(samples, dtype=pl.String))


def file_tokens(path: Path) -> pl.Series:
    """Every whole number in the file, as text (duplicates kept)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as e:
        raise InvalidInput(f"Cannot read {path}: {e.strerror}.") from None
    if magic == b"PAR1":
        frame = pl.read_parquet(path)
        parts = [_numbers_in_strings(frame.get_column(name)) for name in frame.columns]
        return pl.concat(parts) if parts else pl.Series([], dtype=pl.String)
    data = path.read_bytes()
    if magic[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)  # also reads bgzip's many members
        except (OSError, EOFError) as e:
            raise InvalidInput(f"{path} looks gzip-compressed but cannot be decompressed: {e}.") from None
    text = pl.Series([data.decode("utf-8", errors="replace")], dtype=pl.String)
    del data
    return _numbers_in_strings(text.str.split("\n").explode())


def _confidence(pseudonyms: int, canaries: int) -> str:
    if canaries or pseudonyms >= HIGH_PSEUDONYMS:
        return "high"
    return "medium" if pseudonyms >= MEDIUM_PSEUDONYMS else "low"


def _source_confidence(matched: int, same_length: int, chance: float) -> str:
    if matched >= HIGH_SOURCE and matched * 2 >= same_length:
        return "high"
    return "medium" if matched >= MEDIUM_SOURCE and matched >= 5 * chance else "low"


def _source_ids(dataset: Dataset) -> pl.Series:
    parts = []
    for table in parquet_tables(Path(dataset.path)):
        if dataset.identifier_column in pl.read_parquet_schema(table):
            parts.append(
                pl.scan_parquet(table)
                .select(pl.col(dataset.identifier_column).cast(pl.String))
                .unique()
                .collect()
                .to_series()
            )
    return pl.concat(parts).unique().drop_nulls() if parts else pl.Series([], dtype=pl.String)


def trace_file(db: StateDB, path: Path) -> TraceReport:
    tokens = vcf_sample_tokens(Path(path))
    evidence = "sample IDs in the VCF header"
    if tokens is None:
        tokens, evidence = file_tokens(path), TraceReport.evidence
    distinct = tokens.unique()
    numbers = distinct.cast(pl.Int64, strict=False).drop_nulls()
    report = TraceReport(Path(path), tokens.len(), distinct.len(), evidence=evidence)
    with db.reading() as session:
        extracts = list(session.execute(select(DatasetExtract).order_by(DatasetExtract.id)).scalars())
        by_project: dict[str, list[DatasetExtract]] = {}
        for extract in extracts:
            by_project.setdefault(extract.project.name, []).append(extract)
        for project, items in sorted(by_project.items()):
            labels, canaries, known = [], set(), []
            for extract in items:
                lookup = Path(extract.lookup_path)
                if lookup.exists():
                    values = read_pseudonyms(lookup)
                    known.append(values)
                    if _member(numbers, values).any():
                        labels.append(extract.dataset.label)
                canaries |= set(
                    distinct.filter(_member(distinct, pl.Series(extract.canaries, dtype=pl.String))).to_list()
                )
            matched = int(_member(numbers, pl.concat(known).unique()).sum()) if known else 0
            if matched or canaries:
                report.projects.append(
                    ProjectMatch(
                        project, matched, tuple(sorted(canaries)), _confidence(matched, len(canaries)), tuple(labels)
                    )
                )
        for dataset in session.execute(select(Dataset).order_by(Dataset.name, Dataset.version)).scalars():
            if not Path(dataset.path).is_dir():
                continue
            ids = _source_ids(dataset)
            matched = int(_member(distinct, ids).sum())
            if not matched:
                continue
            lengths = ids.str.len_chars().unique().to_list()
            same_length = int(distinct.str.len_chars().is_in(lengths).sum())
            space = sum(9 * 10 ** (n - 1) for n in lengths)
            chance = same_length * ids.len() / space
            report.sources.append(
                SourceMatch(dataset.label, matched, chance, _source_confidence(matched, same_length, chance))
            )
    report.projects.sort(key=lambda m: (-len(m.canaries), -m.pseudonyms, m.project))
    return report
