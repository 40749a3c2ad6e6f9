"""One module per rule; ORDER is the order in which they run and are reported."""

from __future__ import annotations

from . import (
    acro_results,
    differencing,
    encoded_payloads,
    file_type,
    participant_identifiers,
    row_level_data,
    size_limits,
    small_counts,
)

ORDER = (
    file_type.RULE,
    size_limits.RULE,
    participant_identifiers.RULE,
    encoded_payloads.RULE,
    row_level_data.RULE,
    small_counts.RULE,
    differencing.RULE,
    acro_results.RULE,
)
