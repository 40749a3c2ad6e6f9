"""What the author of a request may see of a check record: where, never what.

A check's summary and findings are written for reviewers and may quote the file: a small count and
its column name, an ACRO command, the text of an exception raised while parsing the file. The author
gets the rule, its version and parameters (settings, not content), the verdict, and for each
finding a fixed sentence for the rule and the place: "row 12, column 3", "line 4", "header,
column 2". Anything else in a location (a column's name, an output's id) is dropped: only numbers
the rule counted itself are kept, read from the start of the location string.
"""

from __future__ import annotations

import re
from typing import Any

SUMMARY = {
    "pass": "nothing found",
    "flag": "flagged: the reviewers will look closely at the places listed",
    "block": "blocks approval as the file is: replace it (see the places listed, and the check's description)",
    "error": "the check could not run on this file, so it blocks approval (fail closed)",
}

FINDING = {
    "file_type": "the file's type is not allowed, or its extension does not match its content",
    "size_limits": "the file is over a size limit (bytes or rows; see the parameters)",
    "participant_identifiers": "a participant identifier",
    "row_level_data": "a row that matches a row of the cohort's data",
    "encoded_payloads": "an encoded payload (a long run of base64/hex-like characters, or compressed data)",
    "small_counts": "a count below the threshold",
    "differencing": "a count that differs from an earlier released count by less than the threshold",
    "acro_results": "an ACRO output that needs review",
}
OTHER_FINDING = "a finding of this check (reviewers see the details)"

_PLACE = re.compile(r"(?:header|row \d+|line \d+|record \d+|column \d+)(?:, column \d+)?")


def place(location: str) -> str:
    """The structural part of a finding's location ('' when it has none)."""
    match = _PLACE.match(location or "")
    return match.group(0) if match else ""


def for_author(record: dict[str, Any]) -> dict[str, Any]:
    rule, verdict = record.get("rule", ""), record.get("verdict", "error")
    finding = FINDING.get(rule, OTHER_FINDING)
    findings = [{"message": finding, "location": place(f.get("location", ""))} for f in record.get("findings") or ()]
    return {
        "rule": rule,
        "version": record.get("version", ""),
        "parameters": record.get("parameters", {}),
        "verdict": verdict,
        "summary": SUMMARY.get(verdict, SUMMARY["error"]),
        "findings": findings,
        "details_withheld": True,
    }
