"""participant_identifiers: no value in the file may be a participant identifier."""

from __future__ import annotations

from typing import Any

import polars as pl

from ..identifier_forms import column_forms, token_forms
from ..identifiers import Matches, find_in_table, find_in_text
from ..kinds import TABLE_KINDS, TEXT_KINDS, FileKind
from ..rule import Rule, listing
from ..subject import CheckedFile
from ..types import CheckContext, CheckResult, Finding, Verdict


class ParticipantIdentifiersRule(Rule):
    name = "participant_identifiers"
    version = "2"
    description = """Blocks a file in which any table cell or column name (after trimming spaces)
    equals a participant identifier of a dataset the project can see, or holds one as a
    whole word ('id 4810327;' and '4810327.0' match, '14810327' does not). Text files
    (text, Markdown, JSON, SVG) are searched word by word, line by line. Findings give
    the row and column (or line) of at most max_identifier_findings places and never
    the identifier itself. With identifier_transforms, identifiers written in another form
    block the same way: hexadecimal, digits with separators inside, digits reversed, leading
    zeros, and numbers of a column (or of a text, in order) that are identifiers times a
    constant scale or plus a constant offset. PNG, JPEG and PDF content is not searched (a
    reviewer looks)."""
    kinds = TABLE_KINDS | TEXT_KINDS
    on_finding = Verdict.BLOCK

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        return {
            "identifier_count": len(context.identifiers),
            "match": "whole cell or whole word, after trimming spaces",
            "max_identifier_findings": context.config.max_identifier_findings,
            "identifier_transforms": context.config.identifier_transforms,
            "transforms": "hexadecimal, separators, reversed, leading zeros, column scale, column offset"
            if context.config.identifier_transforms
            else "none",
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
        transformed = _transformed(file, context) if context.config.identifier_transforms else []
        if not matches.total and not transformed:
            return self.result(context, Verdict.PASS, "no participant identifiers found")
        findings = _findings(matches, columns, file.kind, context)
        limit = max(context.config.max_identifier_findings - len(findings), 0)
        findings += [
            Finding(f"holds a participant identifier written as {form}", place) for place, form in transformed[:limit]
        ]
        total = matches.total + len(transformed)
        plural = "s" if total != 1 else ""
        summary = (
            f"{total:,} {where}{plural} hold{'' if plural else 's'} a participant identifier"
            + (f" ({len(transformed):,} in another form)" if transformed else "")
            + listing(total, len(findings))
        )
        return self.result(context, Verdict.BLOCK, summary, findings)


def _transformed(file: CheckedFile, context: CheckContext) -> list[tuple[str, str]]:
    """(place, form) of identifiers found through a transform, in file order, one per place."""
    ids = context.identifiers
    found: dict[str, str] = {}
    if file.kind.is_table:
        cells = file.table.select(pl.all().cast(pl.String))
        for match in token_forms(cells, ids):
            found.setdefault(f"row {match.row + 1}, column {match.column + 1}", match.form)
    else:
        lines = pl.DataFrame({"line": file.text.split("\n")}, schema={"line": pl.String})
        for match in token_forms(lines, ids):
            found.setdefault(f"line {match.row + 1}", match.form)
        numbers = (
            lines.with_row_index("n", offset=1)
            .with_columns(pl.col("line").str.extract_all(_LONG_NUMBER))
            .explode("line")
            .drop_nulls()
        )
        form, rows = column_forms(numbers.get_column("line").str.replace_all(",", ""), ids)
        for row in rows:
            found.setdefault(f"line {numbers.get_column('n')[row]}", form)
    for table in file.tables:
        for position, name in enumerate(table.frame.columns):
            form, rows = column_forms(table.frame.get_column(name), ids)
            for row in rows:
                place = table.place(row)
                found.setdefault(
                    place if table.unit not in ("row", "record") else f"{place}, column {position + 1}", form
                )
    return list(found.items())


_LONG_NUMBER = r"[-+]?\d{7,}(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\d\.\d+[eE]\+?\d+"


def _findings(matches: Matches, columns: list[str], kind: FileKind, context: CheckContext) -> list[Finding]:
    limit = max(context.config.max_identifier_findings, 0)
    unsafe = set(matches.header_columns)
    findings = [
        Finding("column name holds a participant identifier", f"header, column {i + 1}") for i in matches.header_columns
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
