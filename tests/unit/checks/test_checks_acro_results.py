"""acro_results: ACRO's per-output verdicts are read and fail/review items flagged."""

from __future__ import annotations

import json

from checks_builders import result_of

from egress_review.checks import Verdict


def acro_output(uid: str, status: str, summary: str, exception: str = "", kind: str = "table") -> dict:
    """One output as acro 1.0.2's Records.finalise_json writes it."""
    return {
        "uid": uid,
        "status": status,
        "type": kind,
        "properties": {"method": "crosstab"},
        "files": [
            {
                "name": f"{uid}_0.csv",
                "sdc": {
                    "summary": {"suppressed": False, "negative": 0, "missing": 0, "threshold": 2,
                                "p-ratio": 0, "nk-rule": 0, "all-values-are-same": 0},
                    "cells": {"negative": [], "missing": [], "threshold": [[2, 0], [2, 1]],
                              "p-ratio": [], "nk-rule": [], "all-values-are-same": []},
                },
            }
        ],
        "outcome": {"G": {"2010": "threshold; ", "2011": "ok"}},
        "command": "table = acro.crosstab(df.year, df.grant_type)",
        "summary": summary,
        "timestamp": "2026-01-05T10:00:00",
        "comments": [],
        "exception": exception,
        "fair": {},
    }  # fmt: skip


def acro_document(*outputs: dict, tool: bool = True, version: str = "1.0.2") -> str:
    document = {"version": version, "results": {o["uid"]: o for o in outputs}}
    if tool:
        document["tool"] = {"@type": "SoftwareApplication", "name": "ACRO", "version": version}
    return json.dumps(document, indent=4)


def acro(check, content, name="results.json"):
    return result_of(check(name, content), "acro_results")


def test_fail_and_review_outputs_are_flagged_with_acro_reasons(check):
    content = acro_document(
        acro_output("output_0", "fail", "fail; threshold: 2 cells may need suppressing; "),
        acro_output("output_1", "review", "review; negative values found", exception="values are deltas"),
        acro_output("output_2", "pass", "pass"),
    )
    result = acro(check, content)
    assert result.verdict is Verdict.FLAG
    assert result.summary == "ACRO 1.0.2: 3 outputs (1 fail, 1 pass, 1 review)"
    assert [f.location for f in result.findings] == [
        "output 'output_0' (table), files output_0_0.csv",
        "output 'output_1' (table), files output_1_0.csv",
    ]
    assert result.findings[0].message.startswith("ACRO fail: fail; threshold: 2 cells may need suppressing;")
    assert "exception requested: values are deltas" in result.findings[1].message


def test_all_pass_is_a_pass(check):
    result = acro(check, acro_document(acro_output("output_0", "pass", "pass")))
    assert result.verdict is Verdict.PASS and "1 pass" in result.summary


def test_unknown_status_is_flagged(check):
    result = acro(check, acro_document(acro_output("output_0", "error", "crashed")))
    assert result.verdict is Verdict.FLAG


def test_older_acro_files_without_tool_metadata_are_recognised(check):
    result = acro(check, acro_document(acro_output("output_0", "fail", "fail"), tool=False, version="0.4.5"))
    assert result.verdict is Verdict.FLAG and result.summary.startswith("ACRO 0.4.5")


def test_recognised_by_content_not_by_name(check):
    assert acro(check, acro_document(acro_output("o", "fail", "fail")), name="anything.json") is not None


def test_other_json_gets_no_acro_result(check):
    assert acro(check, '{"results": {"a": 1}, "version": "2"}') is None
    assert acro(check, "[1, 2, 3]") is None


def test_empty_acro_results_pass(check):
    result = acro(check, acro_document())
    assert result.verdict is Verdict.PASS and "no outputs" in result.summary


def test_malformed_output_entry_is_flagged_not_crashing(check):
    content = json.dumps({"version": "1.0.2", "tool": {"name": "ACRO"}, "results": {"o": "broken"}})
    assert acro(check, content).verdict is Verdict.FLAG


def test_acro_file_is_also_searched_for_identifiers(check):
    results = check(
        "results.json",
        acro_document(acro_output("o", "pass", "pass", exception="participant 4810327")),
        identifiers=frozenset({"4810327"}),
    )
    assert result_of(results, "participant_identifiers").verdict is Verdict.BLOCK
