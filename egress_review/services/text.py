"""Validation of free text that people type."""

from __future__ import annotations

from ..domain.exceptions import InvalidInput, TextTooLong


def clean_text(value, what: str, max_len: int, *, required: bool = False) -> str:
    """``value`` stripped, or a clear refusal naming the field ``what`` (and its cap when too long)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"'{what}' must be text.")
    if "\x00" in value:
        raise InvalidInput(f"'{what}' contains a NUL character; remove it.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"'{what}' is not valid Unicode text.") from None
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"Give a {what}.")
    if len(value) > max_len:
        raise TextTooLong(
            f"'{what}' is too long: {len(value):,} characters, and the limit is {max_len:,}. "
            "Shorten it and try again; nothing was saved."
        )
    return value
