"""run_checks: every applicable rule on one file, in a stable order, never raising."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from .identifiers import redact
from .rule import Rule
from .rules import ORDER
from .subject import CheckedFile
from .types import CheckContext, CheckResult, Verdict

log = logging.getLogger(__name__)

RULES: Mapping[str, Rule] = MappingProxyType({rule.name: rule for rule in ORDER})
ERROR_TEXT = 300  # characters of an exception shown in an ERROR result


def run_checks(path: Path, context: CheckContext) -> list[CheckResult]:
    """The result of every rule that applies to the file's detected kind, in RULES order.

    A rule that raises yields Verdict.ERROR (which blocks) with the exception
    summarised, participant identifiers removed from the text.
    """
    try:
        file = CheckedFile.load(Path(path))
    except Exception as exc:  # unreadable file: every rule fails closed
        log.warning("cannot read %s for checks", path, exc_info=True)
        return [_error(rule, context, exc) for rule in RULES.values()]
    results = []
    for rule in RULES.values():
        if not rule.applies_to(file.kind):
            continue
        try:
            results.append(rule.run(file, context))
        except Exception as exc:
            log.warning("rule %s failed on %s", rule.name, path, exc_info=True)
            results.append(_error(rule, context, exc))
    return results


def _error(rule: Rule, context: CheckContext, exc: BaseException) -> CheckResult:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    text = redact(text, context.identifiers)
    if len(text) > ERROR_TEXT:
        text = text[: ERROR_TEXT - 1] + "…"
    try:
        parameters = rule.parameters(context)
    except Exception:
        parameters = {}
    return CheckResult(
        rule=rule.name,
        version=rule.version,
        parameters=parameters,
        verdict=Verdict.ERROR,
        summary=f"the check could not run: {text}",
    )
