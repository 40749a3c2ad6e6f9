"""The contract between the automatic disclosure checks and the rest of the airlock.

A check reads one staged file and returns a CheckResult. The request layer
stores every result verbatim (rule name, version, parameters, verdict,
findings) as the machine-readable check record of a request, shows it to
reviewers, and refuses approval of a file while any of its results BLOCKs
(unless an operator overrides the block with a written, audited reason).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class Verdict(str, enum.Enum):
    PASS = "pass"  # nothing found
    FLAG = "flag"  # a reviewer must look (e.g. small counts); approval allowed
    BLOCK = "block"  # approval refused until the file is replaced or overridden
    ERROR = "error"  # the check could not run; treated as BLOCK (fail closed)

    @property
    def blocks(self) -> bool:
        return self in (Verdict.BLOCK, Verdict.ERROR)


@dataclass(frozen=True)
class Finding:
    """One thing a check found, pointing at where it is."""

    message: str
    location: str = ""  # e.g. "row 12, column 'n'", "line 4", "" for the whole file


@dataclass(frozen=True)
class CheckResult:
    rule: str  # stable machine name, e.g. "file_type"
    version: str  # bumped whenever the rule's logic changes
    parameters: dict[str, Any]  # the thresholds and settings it ran with
    verdict: Verdict
    summary: str  # one line a reviewer reads first
    findings: tuple[Finding, ...] = ()

    def to_record(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "version": self.version,
            "parameters": self.parameters,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "findings": [{"message": f.message, "location": f.location} for f in self.findings],
        }


class IdentifierSource(Protocol):
    """Participant identifiers of every dataset the project can see."""

    def identifiers(self) -> frozenset[str]: ...


class CohortRowSource(Protocol):
    """Cohort rows of the project's datasets, for the row-level check."""

    def tables(self) -> Sequence[Path]: ...  # Parquet files


@dataclass(frozen=True)
class ChecksConfig:
    max_file_bytes: int = 16 * 1024 * 1024
    max_table_rows: int = 5_000
    small_count_threshold: int = 10  # flag counts with 0 < n < threshold
    row_match_min_columns: int = 3  # a row matching cohort data on >= this many columns is row-level
    row_match_max_rows: int = 0  # block when more than this many rows match
    # Added by the checks package (defaults documented in egress_review/checks/README.md):
    row_match_min_distinct: int = 20  # cohort columns with fewer distinct values are grouping columns, not matched
    row_match_float_decimals: int = 6  # numbers are compared after rounding to this many decimals
    # Added for disguised leaks (issue 14; egress_review/checks/README.md):
    row_match_min_containment: float = 0.5  # share of an output column's values that must be a cohort column's
    row_match_rare_pair_max: int = 2  # a pair of values occurring at most this often in the cohort is rare
    row_match_pair_uniqueness: float = 0.5  # ...counted only for column pairs this share of cohort rows have rare
    row_match_chance_factor: int = 2  # value-paired matches must beat shifted (chance) matches by this factor
    small_counts_flag_zeros: bool = True  # zero cells of frequency tables are flagged, as ACRO does
    encoded_min_run: int = 256  # characters of base64/hex/... in one run that block
    encoded_min_entropy: float = 3.0  # bits per character a run needs to count as encoded
    encoded_min_share: float = 0.5  # encoded runs (of >= 64 characters) making up this share of a text block
    identifier_transforms: bool = True  # also look for identifiers in hex, with separators, offset or scaled
    differencing_threshold: int = 10  # flag pairs of counts whose difference d has 0 < d < this
    max_findings: int = 50  # findings listed per result (the summary always gives the total)
    max_identifier_findings: int = 20  # identifier locations listed; identifier values are never echoed


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may consult besides the file itself."""

    identifiers: frozenset[str] = frozenset()
    cohort_tables: tuple[Path, ...] = ()  # Parquet files of the project's datasets
    released_tables: tuple[Path, ...] = ()  # staged copies of the project's earlier released tables
    config: ChecksConfig = field(default_factory=ChecksConfig)
