"""Secrets kept in files (the hub's tokens, the pseudonym key): read, or made once and kept.

A secret file is created only whole and only once: its content is written and flushed to a private
temporary file beside it, which is then linked into place, so a caller racing the first one reads the
same secret and never a partial file, and an existing file is never overwritten. The folder is made
readable by its owner only (0700), the file too (0600). The airlock keeps its cookie secret the same
way (egress_review/app.py, which may not import this); tests/unit/test_secret_files.py checks both.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, new_secret: Callable[[], bytes]) -> bytes:
    """The file's bytes; if it does not exist yet, it is created holding `new_secret()`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new_secret())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)  # fails if the file appeared meanwhile: the first one stays
        except FileExistsError:
            pass
    finally:
        os.unlink(partial)
    return path.read_bytes()
