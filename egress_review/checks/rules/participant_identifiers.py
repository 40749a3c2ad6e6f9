"""participant_identifiers: no value in the file may be a participant identifier."""

from __future__ import annotations

from typing import Any

from ..identifiers import Matches, find_in_table, find_in_text
from ..kinds import TABLE_KINDS, TEXT_KINDS, FileKind
from ..rule import Rule, listing
from ..subject import CheckedFile
from ..types import CheckContext, CheckResult, Finding, Verdict


class ParticipantIdentifiersRule(Rule):
    name = "participant_identifiers"
    version = "1"
    description = """Blocks a file in which any table cell or column name (after trimming spaces)
    equals a participant identifier of a dataset the project can see, or holds one as a
    whole word ('id 4810327;' and '4810327.0' match, '14810327' does not). Text files
    (text, Markdown, JSON, SVG) are searched word by word, line by line. Findings give
    the row and column (or line) of at most max_identifier_findings places and never
    the identifier itself. PNG, JPEG and PDF content is not searched (a reviewer looks)."""
    kinds = TABLE_KINDS | TEXT_KINDS
    on_finding = Verdict.BLOCK

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        return {
            "identifier_count": len(context.identifiers),
            "match": "whole cell or whole word, after trimming spaces",
            "max_identifier_findings": context.config.max_identifier_findings,
        }

    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        if not context.identifiers:
            return self.result(context, Verdict.PASS, "no identifiers to compare with")
        if file.kind.is_table:
            columns = file.table.columns
            matches = find_in_table(file.table, context.identifiers)
            where = "cell"
        else:
            columns = []
            matches = find_in_text(file.text, context.identifiers)
            where = "line"
        if not matches.total:
            return self.result(context, Verdict.PASS, "no participant identifiers found")
        findings = _findings(matches, columns, file.kind, context)
        plural = "s" if matches.total != 1 else ""
        summary = (
            f"{matches.total:,} {where}{plural} hold{'' if plural else 's'} a participant identifier"
            + listing(matches.total, len(findings))
        )
        return self.result(context, Verdict.BLOCK, summary, findings)


def _findings(matches: Matches, columns: list[str], kind: FileKind, context: CheckContext) -> list[Finding]:
    limit = max(context.config.max_identifier_findings, 0)
    unsafe = set(matches.header_columns)
    findings = [
        Finding("column name holds a participant identifier", f"header, column {i + 1}")
        for i in matches.header_columns
    ][:limit]
    for row, column, whole in matches.cells.head(max(limit - len(findings), 0)).iter_rows():
        what = "equals" if whole else "holds"
        if kind.is_table:
            name = "" if column in unsafe else f" '{columns[column]}'"
            findings.append(
                Finding(f"cell {what} a participant identifier", f"row {row + 1}, column {column + 1}{name}")
            )
        else:
            findings.append(Finding(f"line {what} a participant identifier", f"line {row + 1}"))
    return findings


RULE = ParticipantIdentifiersRule()
