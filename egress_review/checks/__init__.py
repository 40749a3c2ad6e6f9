"""Automatic disclosure checks of the airlock.

    from egress_review.checks import run_checks, RULES
    results = run_checks(path, context)  # list[CheckResult], in RULES order

RULES maps each rule's name to the rule (name, version, applies_to(kind),
parameters(context), run(file, context), describe()).
"""

from .kinds import FileKind
from .runner import RULES, run_checks
from .types import (
    CheckContext,
    CheckResult,
    ChecksConfig,
    CohortRowSource,
    Finding,
    IdentifierSource,
    Verdict,
)

__all__ = [
    "RULES",
    "run_checks",
    "CheckContext",
    "CheckResult",
    "ChecksConfig",
    "CohortRowSource",
    "FileKind",
    "Finding",
    "IdentifierSource",
    "Verdict",
]
