"""run_checks and RULES: every applicable rule, stable order, failures closed, records serialisable."""

from __future__ import annotations

import json

from checks_builders import png_bytes

from egress_review.checks import RULES, CheckContext, CheckResult, FileKind, Verdict, run_checks
from egress_review.checks.rules import small_counts

EXPECTED_ORDER = [
    "file_type",
    "size_limits",
    "participant_identifiers",
    "encoded_payloads",
    "row_level_data",
    "small_counts",
    "differencing",
    "acro_results",
]


def test_registry_lists_every_rule_in_run_order_with_a_version():
    assert list(RULES) == EXPECTED_ORDER
    for name, rule in RULES.items():
        assert rule.name == name and rule.version
        described = rule.describe()
        assert described["rule"] == name and described["description"]
        assert isinstance(described["default_parameters"], dict)
        json.dumps(described)


def test_table_gets_every_table_rule_in_registry_order(check):
    results = check("t.csv", "group,n\na,12\n")
    assert [r.rule for r in results] == EXPECTED_ORDER[:-1]
    assert all(r.verdict is Verdict.PASS for r in results), [r.summary for r in results]


def test_rules_that_do_not_apply_give_no_result(check):
    assert [r.rule for r in check("p.png", png_bytes())] == ["file_type", "size_limits", "encoded_payloads"]
    assert [r.rule for r in check("n.md", "# hi\n")] == [
        "file_type",
        "size_limits",
        "participant_identifiers",
        "encoded_payloads",
        "row_level_data",
    ]


def test_order_is_the_same_on_every_run(check, write):
    path = write("t.csv", "group,n\na,3\n")
    first = [r.to_record() for r in run_checks(path, CheckContext())]
    second = [r.to_record() for r in run_checks(path, CheckContext())]
    assert first == second


def test_a_crashing_rule_yields_error_and_the_others_still_run(check, monkeypatch):
    def explode(self, file, context):
        raise RuntimeError("cell 4810327 broke the parser")

    monkeypatch.setattr(small_counts.SmallCountsRule, "run", explode)
    results = check("t.csv", "group,n\na,12\n", identifiers=frozenset({"4810327"}))
    by_rule = {r.rule: r for r in results}
    error = by_rule["small_counts"]
    assert error.verdict is Verdict.ERROR and error.verdict.blocks
    assert error.summary == "the check could not run: RuntimeError: cell [identifier] broke the parser"
    assert error.version == RULES["small_counts"].version
    assert by_rule["differencing"].verdict is Verdict.PASS
    assert [r.rule for r in results] == EXPECTED_ORDER[:-1]


def test_unreadable_path_fails_closed_for_every_rule(tmp_path):
    results = run_checks(tmp_path / "missing.csv", CheckContext())
    assert [r.rule for r in results] == EXPECTED_ORDER
    assert {r.verdict for r in results} == {Verdict.ERROR}


def test_every_result_record_is_json(check):
    results = check("t.csv", "group,n\na,3\n", identifiers=frozenset({"9"}))
    assert all(isinstance(r, CheckResult) for r in results)
    records = json.loads(json.dumps([r.to_record() for r in results]))
    assert records[0]["rule"] == "file_type" and records[0]["verdict"] == "pass"


def test_every_allowed_kind_has_an_extension_and_blocked_kinds_none():
    from egress_review.checks.kinds import ALLOWED_KINDS, EXTENSION_KINDS

    reachable = set().union(*EXTENSION_KINDS.values())
    assert reachable == set(ALLOWED_KINDS)
    assert all(kind.allowed == (kind in ALLOWED_KINDS) for kind in FileKind)
