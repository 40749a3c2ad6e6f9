"""The edge's size check on contents API responses (`GET .../api/contents/<path>`).

A file's model carries its content as one JSON string (text or base64); a
notebook's content is an object and a directory's a list. The check reads
the response as it arrives, finds the top-level "content" member and:

- an object, a list or null: the response passes, streamed from then on
  (notebooks and directory listings are not capped);
- a string: the response is held until complete (at most `cap_for(limit)`
  bytes), parsed, and refused if the file's content is over the limit;
- anything unreadable, or more than the cap before a decision: refused
  (fail closed); except a non-2xx answer that is not JSON (the hub's error
  and redirect pages) no larger than the limit itself.

JSON escaping makes a string at most 6 characters per byte (\\u0000), and
base64 4 per 3, so a content string longer than `cap_for(limit)` is over the
limit in any format.
"""

from __future__ import annotations

import base64
import binascii
import json

PASS = "pass"  # stream the rest unchecked
HOLD = "hold"  # keep buffering
REFUSE = "refuse"

_decoder = json.JSONDecoder()
_WHITESPACE = " \t\r\n"


def cap_for(limit: int) -> int:
    return 6 * limit + 64 * 1024


class ContentsCheck:
    """Feed the response body in chunks; `verdict` says what to do with what was fed so far."""

    def __init__(self, limit: int, status: int = 200):
        self.limit = limit
        self.status = status
        self.cap = cap_for(limit)
        self.buffer = bytearray()
        self.why = ""
        self.reason = "contents-too-large"  # or "contents-unreadable" (fail closed)

    def feed(self, chunk: bytes) -> str:
        self.buffer += chunk
        # Judged on the first cap bytes only: what comes after cannot change the content member's kind.
        kind = _content_kind(self.buffer[: self.cap])
        if kind in ("container", "null", "array"):
            return PASS
        if len(self.buffer) > self.cap:
            self.why = f"the response is larger than {self.cap} bytes before its content could be judged"
            return REFUSE
        return HOLD

    def finish(self) -> str:
        """The whole body has been fed: judge it."""
        if not self.buffer.strip():
            return PASS
        try:
            model = json.loads(bytes(self.buffer))
        except ValueError:
            if not 200 <= self.status < 300 and len(self.buffer) <= self.limit:
                return PASS  # an error or redirect page (e.g. the hub's "not running"), no bigger than a file may be
            self.why = "the contents API's answer could not be read"
            self.reason = "contents-unreadable"
            return REFUSE
        if not isinstance(model, dict):
            return PASS  # a list: checkpoints
        size = content_size(model)
        if size is None:
            self.why = "the contents API's answer has a content that could not be measured"
            self.reason = "contents-unreadable"
            return REFUSE
        if size > self.limit and model.get("type") not in ("notebook", "directory"):
            self.why = f"the file's content ({size} bytes) is over the edge's limit of {self.limit} bytes"
            return REFUSE
        return PASS


def content_size(model: dict) -> int | None:
    """Bytes of a model's content: 0 without content, None when it cannot be measured."""
    content = model.get("content")
    if content is None or isinstance(content, (dict, list)):
        return 0
    if not isinstance(content, str):
        return None
    if model.get("format") == "base64":
        try:
            return len(base64.b64decode(content.replace("\n", ""), validate=True))
        except (binascii.Error, ValueError):
            return None
    return len(content.encode("utf-8", "surrogatepass"))


def _content_kind(buffer: bytearray) -> str | None:
    """What the top-level "content" member holds, as far as the prefix tells: None when not known yet.

    Returns "array" for a top-level list (checkpoints), "container" (object or
    list), "null", "string", or "absent" (no content member in a complete object).
    """
    text = bytes(buffer).decode("utf-8", "ignore")
    i = _skip(text, 0)
    if i >= len(text):
        return None
    if text[i] == "[":
        return "array"
    if text[i] != "{":
        return "string"  # not an object: held, then refused by finish() as unreadable
    i += 1
    while True:
        i = _skip(text, i)
        if i >= len(text):
            return None
        if text[i] == "}":
            return "absent"
        if text[i] == ",":
            i += 1
            continue
        try:
            key, i = _decoder.raw_decode(text, i)
        except ValueError:
            return None  # the key is not complete yet (or malformed: finish() refuses)
        i = _skip(text, i)
        if i >= len(text):
            return None
        if text[i] != ":":
            return "string"
        i = _skip(text, i + 1)
        if i >= len(text):
            return None
        if key == "content":
            return {"{": "container", "[": "container", "n": "null"}.get(text[i], "string")
        try:
            _, i = _decoder.raw_decode(text, i)
        except ValueError:
            return None


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WHITESPACE:
        i += 1
    return i
