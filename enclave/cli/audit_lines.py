"""How `enclave audit show` prints an event: what an operator reads first, first.

Time (UTC, to the second), actor, event, outcome, the human reason when the event has one, then
the target and the other details; the line is cut to the terminal's width unless `--long` asks for all
of it (sequence number and hash included). `--json` prints the whole record instead.
"""

from __future__ import annotations

import json
from datetime import datetime

from ..state.models import AuditEvent

# Detail keys that say why, in the order they are looked for.
REASON_KEYS = ("reason", "message", "why", "detail", "error")
ELLIPSIS = "…"


def _time(at: str) -> str:
    try:
        return datetime.fromisoformat(at).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return at


def _reason(details: dict) -> tuple[str, dict]:
    for key in REASON_KEYS:
        value = details.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip(), {k: v for k, v in details.items() if k != key}
    return "", details


def _rest(details: dict) -> str:
    return " ".join(
        f"{key}={json.dumps(value, sort_keys=True, ensure_ascii=False)}" for key, value in sorted(details.items())
    )


def readable_line(event: AuditEvent, width: int | None) -> str:
    """One event on one line; cut to `width` characters (None: never cut)."""
    reason, rest = _reason(event.details or {})
    parts = [f"{_time(event.at)}  {event.actor:<16} {event.action:<24} {event.outcome:<8}"]
    parts += [part for part in (reason, event.target, _rest(rest)) if part]
    if width is None:
        parts.append(f"(seq {event.seq}, at {event.at}, hash {event.entry_hash})")
    line = "  ".join([parts[0], " · ".join(parts[1:])]).rstrip()
    if width is not None and len(line) > width:
        line = line[: max(width - 1, 0)] + ELLIPSIS
    return line
