"""What an analyst can put into a request: their projects, and the files in their outbox of one.

The listing is read the way submission reads files (no symbolic link is followed, only regular
files count), so what the page offers is what can be taken. Names, sizes and modification times
are the analyst's own and come back to them only (metered like every airlock answer).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..domain import permissions
from ..domain.permissions import Principal, Scope
from .context import AirlockContext

MAX_LISTED = 500  # files offered at once; a bigger outbox is listed in part (the page says so)
MAX_DEPTH = 8  # folders below the outbox that are looked into


@dataclass(frozen=True)
class OutboxFile:
    path: str  # relative to the outbox, with "/"
    size_bytes: int
    modified: dt.datetime  # UTC


@dataclass(frozen=True)
class OutboxListing:
    project: str
    files: list[OutboxFile]
    truncated: bool  # more files than MAX_LISTED
    missing: bool  # the outbox folder does not exist yet


def projects_of(ctx: AirlockContext, principal: Principal) -> list[str]:
    """The projects this person can request releases for (none without the request scope)."""
    if not principal.has(Scope.REQUEST):
        return []
    return list(ctx.directory.projects_of(principal.name))


def list_outbox(ctx: AirlockContext, principal: Principal, project: str) -> OutboxListing:
    permissions.check_can_request_for(principal, project, ctx.directory)
    root = ctx.directory.outbox_path(project, principal.name)
    if not root.is_dir() or root.is_symlink():
        return OutboxListing(project, [], False, True)
    found: list[OutboxFile] = []
    truncated = _walk(root, "", 0, found, ctx.inputs.path_chars)
    return OutboxListing(project, sorted(found, key=lambda f: f.path), truncated, False)


def _walk(folder: Path, prefix: str, depth: int, found: list[OutboxFile], max_path: int) -> bool:
    """Add the regular files under ``folder``; True when the listing was cut at MAX_LISTED."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return False
    for entry in entries:
        if entry.name.startswith("."):  # checkpoints and other hidden files are not results
            continue
        relpath = prefix + entry.name
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and depth < MAX_DEPTH:
            if _walk(Path(entry.path), relpath + "/", depth + 1, found, max_path):
                return True
        elif stat.S_ISREG(st.st_mode) and len(relpath) <= max_path:
            if len(found) >= MAX_LISTED:
                return True
            modified = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
            found.append(OutboxFile(relpath, st.st_size, modified))
    return False
