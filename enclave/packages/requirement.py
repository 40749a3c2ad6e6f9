"""What an operator may ask for: a package name, optionally pinned to one version."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidInput

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?"
_VERSION = r"[A-Za-z0-9][A-Za-z0-9.+!_-]{0,62}"
_REQUIREMENT = re.compile(rf"^(?P<name>{_NAME})(?:==(?P<version>{_VERSION}))?$")


def normalise(name: str) -> str:
    """PEP 503's normalised project name, as indexes and pip compare names."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PackageRequirement:
    name: str  # normalised
    version: str | None  # None: the newest the source has

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}=={self.version}"


def parse_requirement(text: str) -> PackageRequirement:
    """NAME or NAME==VERSION; anything else (URLs, ranges, extras, options) is refused."""
    match = _REQUIREMENT.match(text.strip())
    if match is None:
        raise InvalidInput(
            f"{text!r} is not a package name or NAME==VERSION (for example 'tabulate' or 'tabulate==0.9.0'). "
            "Ranges, extras, URLs and pip options are not accepted: allow one version at a time."
        )
    return PackageRequirement(name=normalise(match.group("name")), version=match.group("version"))
