"""The airlock's sketches of an extract's tables, written beside the extract when it is made.

The row-level disclosure check matches an output's columns to the cohort's by
their values, using a sketch of each column's value set (the airlock
publishes the format as egress_review.integration.write_sketches). Building
one reads the whole table, so it is done once, here, into `<extract>.sketch/`
next to the extract folder: not mounted into workspaces, not in the extract's
manifest, and rebuilt by the airlock on first use if missing or stale
(extracts made before sketches).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from egress_review.integration import sketch_folder, write_sketches

__all__ = ["remove_extract_sketches", "sketch_folder", "write_extract_sketches"]
log = logging.getLogger(__name__)


def write_extract_sketches(extract: Path) -> Path | None:
    """Replace the sketch folder of `extract`; None (and a warning) if it could not be written:
    the airlock then builds the sketches itself on first use, so an extract never fails for it."""
    extract = Path(extract)
    final = sketch_folder(extract)
    partial = final.with_name(f".{final.name}.partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        write_sketches(extract, into=partial)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(partial, final)
    except Exception:
        log.warning(
            "could not write the sketches of %s; the airlock will build them on first use", extract, exc_info=True
        )
        shutil.rmtree(partial, ignore_errors=True)
        return None
    return final


def remove_extract_sketches(extract: Path) -> None:
    shutil.rmtree(sketch_folder(Path(extract)), ignore_errors=True)
