"""The audit log's anchor: its head, written outside the database after every commit.

A hash chain cannot show that its newest entries were cut off: what is left is
still a valid chain. So after each committed append the head (seq, entry_hash,
at) is appended as one JSON line to a file outside the database, fsynced:
`<folder of the SQLite file>/audit/anchor` (that is `<state_dir>/audit/anchor`),
and to `$ENCLAVE_AUDIT_ANCHOR_COPY` too when set. Operators point the copy at
storage the enclave's host cannot rewrite (a WORM share, a remote append-only
mount). `enclave audit verify` compares the database with every line.

Each line names the database it belongs to (its installation id,
installation.py). Lines of another database are set aside and reported as
such, never taken for edits; lines written before ids existed count as this
database's.

With PostgreSQL the first file is `$ENCLAVE_STATE_DIR/audit/anchor`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from .audit_chain import DELETED, EDITED, INSERTED, Problem

log = logging.getLogger("enclave.audit")

COPY_VARIABLE = "ENCLAVE_AUDIT_ANCHOR_COPY"


@dataclass(frozen=True)
class Head:
    seq: int
    entry_hash: str
    at: str
    installation: str = ""  # the database's id; "" on lines written before ids existed
    line: int = 0  # where it was read from (0: not read from a file)

    def belongs_to(self, installation: str | None) -> bool:
        return not self.installation or not installation or self.installation == installation


@dataclass(frozen=True)
class ForeignLine:
    """An anchor line that names another database."""

    path: Path
    line: int
    installation: str

    def __str__(self) -> str:
        return (
            f"anchor {self.path} line {self.line}: belongs to another installation "
            f"({self.installation}), not to this log; set aside"
        )


def anchor_paths(database_url: str) -> list[Path]:
    """Where the anchor of the log in this database is written: the state folder's file, then the copy."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).resolve().parent
    else:
        folder = Path(os.environ.get("ENCLAVE_STATE_DIR") or "/var/lib/enclave")
    paths = [folder / "audit" / "anchor"]
    copy = os.environ.get(COPY_VARIABLE, "").strip()
    if copy:
        paths.append(Path(copy))
    return paths


def append_head(paths: list[Path], head: Head) -> None:
    """Append the head to every anchor file (0600) and fsync it; raises if any cannot be written."""
    fields = {"seq": head.seq, "entry_hash": head.entry_hash, "at": head.at}
    if head.installation:
        fields["installation"] = head.installation
    line = (json.dumps(fields, sort_keys=True) + "\n").encode()
    for path in paths:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)  # one write of a short line: appends from several processes do not interleave
            os.fsync(fd)
        finally:
            os.close(fd)


def read_heads(path: Path) -> tuple[list[Head], list[int]]:
    """The heads recorded in one anchor file, and the numbers of lines that could not be read."""
    heads, unreadable = [], []
    lines = path.read_text().split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            heads.append(
                Head(
                    int(data["seq"]),
                    str(data["entry_hash"]),
                    str(data["at"]),
                    str(data.get("installation") or ""),
                    number,
                )
            )
        except (ValueError, KeyError, TypeError):
            # A torn last line (a power cut during the write: no newline after it) is expected; nothing else.
            if number < len(lines):
                unreadable.append(number)
    return heads, unreadable


def own_heads(path: Path, installation: str | None) -> tuple[list[Head], list[int]]:
    """The lines of one anchor file that belong to this database, and the unreadable line numbers."""
    heads, unreadable = read_heads(path)
    return [h for h in heads if h.belongs_to(installation)], unreadable


def foreign_lines(paths: list[Path], installation: str | None) -> list[ForeignLine]:
    """Lines of the anchor files that name another database (reported, not judged)."""
    found = []
    for path in paths:
        if path.exists():
            found += [
                ForeignLine(path, h.line, h.installation) for h in read_heads(path)[0] if not h.belongs_to(installation)
            ]
    return found


def check_against_anchor(
    paths: list[Path],
    hashes: dict[int, str],
    newest_seq: Callable[[], int] | None = None,
    installation: str | None = None,
) -> list[Problem]:
    """Compare the log's entries (seq -> entry_hash) with every anchor file's lines of this database.

    Entries may be committed while verify runs. An anchor ahead of what was
    read is judged again against `newest_seq()` (a fresh look at the
    database); entries newer than the anchor again after re-reading the
    anchor (each commit writes its line just after it).
    """
    problems: list[Problem] = []
    db_head = max(hashes, default=0)
    for path in paths:
        where = f"anchor {path}"
        if not path.exists():
            if hashes:
                problems.append(
                    Problem(
                        where,
                        None,
                        DELETED,
                        "the anchor file is missing, so deletion of the newest entries cannot be ruled out",
                    )
                )
            continue
        heads, unreadable = own_heads(path, installation)
        problems += [
            Problem(where, None, EDITED, f"line {n} cannot be read: the anchor was changed") for n in unreadable
        ]
        anchored = max((h.seq for h in heads), default=0)
        for head in heads:
            if head.seq in hashes and hashes[head.seq] != head.entry_hash:
                problems.append(
                    Problem(
                        "enclave",
                        head.seq,
                        EDITED,
                        f"its hash differs from the one recorded in "
                        f"{path}: the entry was rewritten, or deleted and "
                        "replaced",
                    )
                )
        if anchored > db_head and (newest_seq is None or newest_seq() < anchored):
            span = (
                f"entry {anchored} recorded in {path} is"
                if anchored == db_head + 1
                else f"entries {db_head + 1}..{anchored} recorded in {path} are"
            )
            problems.append(Problem("enclave", db_head + 1, DELETED, f"{span} gone: deleted from the end of the log"))
        elif db_head > anchored:
            heads, _ = own_heads(path, installation)  # entries committed while we read have been anchored by now
            anchored = max((h.seq for h in heads), default=0)
            if db_head > anchored:
                span = f"entry {db_head} is" if db_head == anchored + 1 else f"entries {anchored + 1}..{db_head} are"
                problems.append(
                    Problem(
                        "enclave",
                        anchored + 1,
                        INSERTED,
                        f"{span} not in {path}: appended outside the enclave, or the anchor "
                        "could not be written (see the log of the process that wrote them)",
                    )
                )
    return problems
