"""The canonical form of a request path, or a refusal when the path is ambiguous.

Rules are judged on what a server behind the edge could take the path to
mean. Percent-escapes are decoded once (in any case: %66 and %6F alike);
empty and '.' segments are dropped, as the servers behind would. What could be
read two ways is refused instead of guessed: '..' segments, an escaped '/',
'\\' or '%' (a double escape), control characters, and bytes that are not
UTF-8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_AMBIGUOUS_ESCAPES = {"2f", "5c", "25", "00"}  # '/', '\\', '%', NUL


class AmbiguousPath(ValueError):
    """The path could mean different things to different servers; it is refused."""


@dataclass(frozen=True)
class CanonicalPath:
    segments: tuple[str, ...]  # decoded, without empty or '.' segments
    trailing_slash: bool

    @property
    def text(self) -> str:
        return "/" + "/".join(self.segments) + ("/" if self.trailing_slash and self.segments else "")


def canonical(raw_path: str) -> CanonicalPath:
    """Decode and normalise the path part of a URL (no query); raise AmbiguousPath when it is ambiguous."""
    if not raw_path.startswith("/"):
        raise AmbiguousPath("the path does not start with '/'")
    for escape in _ESCAPE.findall(raw_path):
        if escape.lower() in _AMBIGUOUS_ESCAPES:
            raise AmbiguousPath(f"the path contains the escape %{escape}")
    if re.search(r"%(?![0-9A-Fa-f]{2})", raw_path):
        raise AmbiguousPath("the path contains a '%' that is not an escape")
    try:
        decoded = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError as bad:
        raise AmbiguousPath("the path is not UTF-8 once decoded") from bad
    if "\\" in decoded or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in decoded):
        raise AmbiguousPath("the path contains a backslash or a control character")
    segments = []
    for segment in decoded.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            raise AmbiguousPath("the path contains a '..' segment")
        segments.append(segment)
    return CanonicalPath(tuple(segments), decoded.endswith("/"))
