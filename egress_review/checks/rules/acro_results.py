"""acro_results: the per-output verdicts of ACRO's results.json, shown to reviewers."""

from __future__ import annotations

from typing import Any

from ..kinds import FileKind
from ..rule import Rule, listing
from ..subject import CheckedFile
from ..types import CheckContext, CheckResult, Finding, Verdict

SHOWN_TEXT = 300  # characters of an ACRO summary, command or exception shown per output


class AcroResultsRule(Rule):
    name = "acro_results"
    version = "1"
    description = """Applies only to ACRO's results.json (recognised by its structure, whatever
    the file is called; other JSON gets no acro_results result). Reports ACRO's verdict for
    every output: 'fail' and 'review' outputs are flagged with ACRO's reason and the
    analyst's exception request, if any; reviewers decide. Any other status is flagged too.
    It does not re-run ACRO or check that the listed output files are in the request."""
    kinds = frozenset({FileKind.ACRO_RESULTS})
    on_finding = Verdict.FLAG

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        return {"flagged_statuses": ["fail", "review", "any other"]}

    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        document = file.json
        outputs = document["results"]
        tally: dict[str, int] = {}
        findings = []
        for uid, output in outputs.items():
            if not isinstance(output, dict):
                output = {"status": "malformed", "summary": "the output entry is not an object"}
            status = str(output.get("status", "")).strip().lower() or "missing"
            tally[status] = tally.get(status, 0) + 1
            if status == "pass":
                continue
            findings.append(Finding(_message(status, output), _location(uid, output)))
        counts = ", ".join(f"{n} {status}" for status, n in sorted(tally.items()))
        version = str(document.get("version", "?"))
        if not outputs:
            return self.result(context, Verdict.PASS, f"ACRO {version} results with no outputs")
        shown = findings[: max(context.config.max_findings, 0)]
        summary = f"ACRO {version}: {len(outputs)} output{'s' if len(outputs) != 1 else ''} ({counts})"
        if not findings:
            return self.result(context, Verdict.PASS, summary)
        return self.result(context, Verdict.FLAG, summary + listing(len(findings), len(shown)), shown)


def _message(status: str, output: dict) -> str:
    parts = [f"ACRO {status}: {_short(output.get('summary')) or 'no reason given'}"]
    if output.get("exception"):
        parts.append(f"exception requested: {_short(output['exception'])}")
    if output.get("command"):
        parts.append(f"command: {_short(output['command'])}")
    return "; ".join(parts)


def _location(uid: str, output: dict) -> str:
    files = [f.get("name") for f in output.get("files") or [] if isinstance(f, dict) and f.get("name")]
    kind = output.get("type") or "output"
    where = f"output '{uid}' ({kind})"
    return where + (f", files {', '.join(map(str, files[:5]))}" if files else "")


def _short(value: Any) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= SHOWN_TEXT else text[: SHOWN_TEXT - 1] + "…"


RULE = AcroResultsRule()
