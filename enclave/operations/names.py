"""What names of projects, users and datasets may look like.

Names end up in Docker object names, host paths and URLs, so they are kept
to a small safe alphabet.
"""

import re

from ..errors import InvalidInput

_RULES = {
    "project": (
        re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"),
        "3-32 lower-case letters, digits and '-', starting with a letter",
    ),
    "user": (
        re.compile(r"^[a-z][a-z0-9_-]{1,30}[a-z0-9]$"),
        "3-32 lower-case letters, digits, '_' and '-', starting with a letter",
    ),
    "dataset": (
        re.compile(r"^[a-z][a-z0-9_-]{1,62}$"),
        "2-63 lower-case letters, digits, '_' and '-', starting with a letter",
    ),
    "version": (
        re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"),
        "1-32 letters, digits, '.', '_' and '-', starting with a letter or digit",
    ),
}


def check_name(kind: str, value: str) -> str:
    pattern, rule = _RULES[kind]
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidInput(f"{value!r} is not a valid {kind} name: use {rule}.")
    return value
