"""The meter's write-ahead journal: counted bytes on disk before they are sent, until the ledger holds them.

The meter adds to the ledger about once a second. Without a journal, an edge
killed outright (SIGKILL, the OOM killer, a crash) would lose the counts of
up to a second of bytes that already reached browsers. With it, every count
is appended to this process's journal file before the frame goes out; a file
is deleted only after the ledger transaction holding its counts committed.

A write to a file survives the death of the process that made it (the page
cache belongs to the kernel), so no fsync is needed for that; a crash of the
whole machine loses the journal's tail along with the connections it counted.

One file per edge process, each held with an exclusive lock for the process's
life: several edges can share the folder, and a starting edge takes over only
the files whose process is gone (the kernel drops a dead process's locks).
If the process dies between the ledger's commit and the file's deletion, the
file's counts are added again: a person is counted twice, never not at all.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections import defaultdict
from pathlib import Path

log = logging.getLogger(__name__)

Key = tuple[str, str, str, str]  # (day, user, project, channel), as the meter keys what is pending
SUFFIX = ".journal"


class JournalError(RuntimeError):
    """The journal cannot be written: the meter refuses data (fails closed)."""


class CountJournal:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        self._sealed: list[tuple[Path, int]] = []  # files whose counts are pending, not yet in the ledger
        self._path, self._fd = self._open_new()
        self._written = False  # whether the current file holds any count

    def _open_new(self) -> tuple[Path, int]:
        path = self.folder / f"{os.getpid()}-{uuid.uuid4().hex}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return path, fd

    def append(self, key: Key, counted: int, raw: int) -> None:
        """Record a count before its bytes are sent (one write: a line is whole or absent)."""
        line = json.dumps([*key, counted, raw], separators=(",", ":")).encode() + b"\n"
        try:
            written = os.write(self._fd, line)
        except OSError as error:
            raise JournalError(f"egress journal {self._path} cannot be written: {error}") from error
        if written != len(line):
            raise JournalError(f"egress journal {self._path}: short write ({written} of {len(line)} bytes)")
        self._written = True

    def seal(self) -> None:
        """The meter took its pending counts for the ledger: later counts go to a new file."""
        if self._written:
            self._sealed.append((self._path, self._fd))
            self._path, self._fd = self._open_new()
            self._written = False

    def committed(self) -> None:
        """The ledger holds every count of the sealed files: delete them."""
        for path, fd in self._sealed:
            path.unlink(missing_ok=True)
            os.close(fd)
        self._sealed = []

    def adopt_orphans(self) -> dict[Key, list[int]]:
        """Counts left by edges that died before writing them to the ledger; their files become this
        journal's sealed files, deleted once the meter's next flush committed them."""
        found: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            if path == self._path or any(path == sealed for sealed, _ in self._sealed):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # a live edge's journal
                continue
            records = _read(path)
            if not records:  # nothing counted since that edge's last flush
                path.unlink(missing_ok=True)
                os.close(fd)
                continue
            for day, user, project, channel, counted, raw in records:
                pending = found[(day, user, project, channel)]
                pending[0] += counted
                pending[1] += raw
            self._sealed.append((path, fd))
            log.warning("egress journal %s of an edge that stopped without writing it: its counts are added", path)
        return dict(found)

    def close(self, *, ledger_has_all: bool) -> None:
        """Stop: with every count in the ledger, delete the files; else release them for the next edge."""
        if ledger_has_all:
            self.committed()
            self._path.unlink(missing_ok=True)
        for _, fd in self._sealed:
            os.close(fd)
        os.close(self._fd)
        self._sealed = []


def _read(path: Path) -> list[list]:
    records = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        try:
            day, user, project, channel, counted, raw = json.loads(line)
            records.append([str(day), str(user), str(project), str(channel), int(counted), int(raw)])
        except (ValueError, TypeError):
            log.error("egress journal %s line %d is not a count; skipped", path, number)
    return records
