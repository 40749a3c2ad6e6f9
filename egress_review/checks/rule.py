"""What every rule is: a name, a version, the kinds it reads, its parameters, and run()."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any, ClassVar

from .kinds import FileKind
from .subject import CheckedFile
from .types import CheckContext, CheckResult, ChecksConfig, Finding, Verdict


class Rule(abc.ABC):
    name: ClassVar[str]
    version: ClassVar[str]  # bump whenever the logic or a default changes
    description: ClassVar[str]  # one paragraph for reviewers' docs
    kinds: ClassVar[frozenset[FileKind]]  # the detected kinds the rule reads
    on_finding: ClassVar[Verdict]  # the verdict when it finds something

    def applies_to(self, kind: FileKind) -> bool:
        return kind in self.kinds

    @abc.abstractmethod
    def parameters(self, context: CheckContext) -> dict[str, Any]:
        """The settings this run uses (stored with the result)."""

    @abc.abstractmethod
    def run(self, file: CheckedFile, context: CheckContext) -> CheckResult:
        """Check one file. May raise: the runner turns that into Verdict.ERROR."""

    def result(
        self,
        context: CheckContext,
        verdict: Verdict,
        summary: str,
        findings: Iterable[Finding] = (),
    ) -> CheckResult:
        return CheckResult(
            rule=self.name,
            version=self.version,
            parameters=self.parameters(context),
            verdict=verdict,
            summary=summary,
            findings=tuple(findings),
        )

    def describe(self) -> dict[str, Any]:
        """What reviewers' docs list: the rule, its version, what it reads, its defaults."""
        return {
            "rule": self.name,
            "version": self.version,
            "description": " ".join(self.description.split()),
            "applies_to": (["all"] if self.kinds == frozenset(FileKind) else sorted(k.value for k in self.kinds)),
            "verdict_on_finding": self.on_finding.value,
            "default_parameters": self.parameters(CheckContext(config=ChecksConfig())),
        }


def listing(total: int, shown: int) -> str:
    return "" if shown >= total else f" (first {shown} listed)"
