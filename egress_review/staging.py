"""Reading analysts' outboxes safely, and the content-addressed staging store.

Outbox reads: a request names a file by its path relative to the analyst's
outbox. Every component is opened relative to its parent directory with
O_NOFOLLOW, so neither a symlink anywhere in the path nor a component swapped
for a symlink after it was checked can lead outside the outbox; the opened
file is checked with fstat (regular file, size) and checked again after the
copy (size and mtime unchanged), so what was hashed is what was read.

Staging: ``<root>/sha256/ab/cdef…`` holds one read-only file per distinct
content. A copy is written to ``<root>/tmp/``, fsynced, then renamed into
place, and the directory fsynced; only then does the caller commit the
database rows that reference it. A crash leaves at worst a temp file or an
unreferenced blob, and ``sweep`` (run at service start) removes both.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .domain.exceptions import (
    FileChangedDuringCopy,
    FileTooLarge,
    IntegrityFailure,
    InvalidInput,
    OutboxFileMissing,
    PathEscapesOutbox,
    SpecialFileRefused,
    StagingDiskFull,
    StagingFailed,
    SymlinkRefused,
    TooManyFiles,
)

CHUNK = 1024 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class StagingLimits:
    max_file_bytes: int = 16 * 1024 * 1024
    max_files: int = 50

    def check_file_count(self, count: int) -> None:
        if count > self.max_files:
            raise TooManyFiles(
                f"A request can hold at most {self.max_files} files; this one would have {count}. "
                "Split your outputs into several requests."
            )


@dataclass(frozen=True)
class StagedBlob:
    sha256: str
    size: int


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def split_relpath(relpath: str) -> tuple[str, ...]:
    """The components of a path relative to the outbox; refuses anything that could leave it."""
    if not isinstance(relpath, str) or not relpath.strip():
        raise InvalidInput("Give the file's path relative to your outbox, e.g. 'tables/counts.csv'.")
    if "\x00" in relpath or len(relpath) > 1024 or not _encodable(relpath):
        raise InvalidInput("That file path is not valid: use a plain path of at most 1024 characters.")
    if relpath.startswith(("/", "\\")) or PurePosixPath(relpath).is_absolute():
        raise PathEscapesOutbox(f"'{relpath}' is an absolute path. Give the path relative to your outbox (~/outbox).")
    parts = tuple(p for p in relpath.split("/") if p not in ("", "."))
    if not parts:
        raise InvalidInput("Give the file's path relative to your outbox, e.g. 'tables/counts.csv'.")
    if ".." in parts:
        raise PathEscapesOutbox(
            f"'{relpath}' leads outside your outbox ('..'). Move the file into ~/outbox and use its path there."
        )
    return parts


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def normalise_relpath(relpath: str) -> str:
    return "/".join(split_relpath(relpath))


def _symlink_refused(shown: str) -> SymlinkRefused:
    return SymlinkRefused(
        f"'{shown}' is a symbolic link. The airlock only takes real files: copy the file itself into your outbox."
    )


def open_outbox_file(outbox: Path, relpath: str) -> tuple[int, os.stat_result]:
    """Open ``relpath`` under ``outbox`` without following any symlink; return (fd, fstat).

    The caller closes the descriptor.
    """
    parts = split_relpath(relpath)
    try:
        dir_fd = os.open(outbox, _DIR_FLAGS)
    except FileNotFoundError:
        raise OutboxFileMissing("Your outbox does not exist yet. Create ~/outbox in your workspace.") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _symlink_refused("outbox") from None
        raise
    try:
        walked: list[str] = []
        for name in parts[:-1]:
            walked.append(name)
            shown = "/".join(walked)
            st = _lstat_at(name, dir_fd, shown)
            if stat.S_ISLNK(st.st_mode):
                raise _symlink_refused(shown)
            if not stat.S_ISDIR(st.st_mode):
                raise OutboxFileMissing(f"'{shown}' is not a folder in your outbox. Check the path.")
            try:
                next_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _symlink_refused(shown) from None
                raise
            os.close(dir_fd)
            dir_fd = next_fd
        shown = "/".join(parts)
        st = _lstat_at(parts[-1], dir_fd, shown)
        if stat.S_ISLNK(st.st_mode):
            raise _symlink_refused(shown)
        if not stat.S_ISREG(st.st_mode):
            raise _special(shown, st)
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _symlink_refused(shown) from None
            raise
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode):
            os.close(fd)
            raise _special(shown, fst)
        return fd, fst
    finally:
        os.close(dir_fd)


def _lstat_at(name: str, dir_fd: int, shown: str) -> os.stat_result:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        raise OutboxFileMissing(
            f"There is no '{shown}' in your outbox. Check the path (it is relative to ~/outbox)."
        ) from None


def _special(shown: str, st: os.stat_result) -> SpecialFileRefused:
    kind = "folder" if stat.S_ISDIR(st.st_mode) else "special file (device, pipe or socket)"
    return SpecialFileRefused(f"'{shown}' is a {kind}, not a regular file. Add files one by one.")


def inspect_outbox_file(outbox: Path, relpath: str, limits: StagingLimits) -> int:
    """Check that a file can be taken (as submission will); return its size."""
    fd, st = open_outbox_file(outbox, relpath)
    os.close(fd)
    _check_size(relpath, st.st_size, limits)
    return st.st_size


def _check_size(relpath: str, size: int, limits: StagingLimits) -> None:
    if size > limits.max_file_bytes:
        raise FileTooLarge(
            f"'{relpath}' is {_mib(size)}; the limit is {_mib(limits.max_file_bytes)} per file. "
            "Release a smaller summary, or ask an operator."
        )


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (tests replace this to simulate a crash or a full disk)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SweepReport:
    temp_removed: int
    orphans_removed: int


class StagingStore:
    """Content-addressed, immutable copies of submitted files."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "sha256"
        self.tmp = self.root / "tmp"
        self.manifests = self.root / "manifests"
        for d in (self.blobs, self.tmp, self.manifests):
            d.mkdir(parents=True, exist_ok=True)
        # Blobs staged by submissions still in progress in this process: a
        # failed submission removes its blobs only if no other holds them.
        self._pins: Counter[str] = Counter()
        self._pin_lock = threading.Lock()

    def blob_path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.blobs / sha256[:2] / sha256[2:]

    def stage(self, outbox: Path, relpath: str, limits: StagingLimits) -> StagedBlob:
        """Copy one outbox file into staging; returns its hash and size."""
        src, st = open_outbox_file(outbox, relpath)
        tmp_path = self.tmp / f"{uuid.uuid4().hex}.part"
        out = None
        try:
            _check_size(relpath, st.st_size, limits)
            out = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            digest = hashlib.sha256()
            total = 0
            while chunk := os.read(src, CHUNK):
                total += len(chunk)
                _check_size(relpath, total, limits)
                digest.update(chunk)
                _write_all(out, chunk)
            os.fsync(out)
            after = os.fstat(src)
            if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns) or total != after.st_size:
                raise FileChangedDuringCopy(
                    f"'{relpath}' changed while it was being copied. Wait until it is fully written, then submit again."
                )
            os.fchmod(out, 0o444)
            os.close(out)
            out = None
            sha = digest.hexdigest()
            final = self.blob_path(sha)
            with self._pin_lock:
                self._pins[sha] += 1
            try:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp_path, final)
                _fsync_dir(final.parent)
            except BaseException:
                self.unpin([sha], lambda _sha: True)
                raise
            return StagedBlob(sha256=sha, size=total)
        except OSError as exc:
            _remove_quietly(tmp_path)
            if exc.errno in _DISK_FULL:
                raise StagingDiskFull(
                    "The airlock's staging disk is full, so nothing was submitted and your request is "
                    "unchanged. Tell an operator; try again once they have made space."
                ) from None
            raise StagingFailed(
                f"The airlock could not copy '{relpath}' ({exc.strerror}). Your request is unchanged; "
                "try again, and tell an operator if it keeps failing."
            ) from None
        except BaseException:
            _remove_quietly(tmp_path)
            raise
        finally:
            os.close(src)
            if out is not None:
                os.close(out)

    def unpin(self, shas: Iterable[str], is_referenced: Callable[[str], bool]) -> None:
        """Drop this submission's hold on its blobs; remove those nothing references."""
        for sha in shas:
            with self._pin_lock:
                self._pins[sha] -= 1
                if self._pins[sha] > 0:
                    continue
                del self._pins[sha]
                if not is_referenced(sha):
                    _remove_quietly(self.blob_path(sha))

    def read_verified(self, sha256: str) -> bytes:
        """The staged bytes, after checking they still hash to ``sha256``."""
        try:
            fd = os.open(self.blob_path(sha256), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            raise IntegrityFailure(
                "The staged copy of this file is missing. Nothing was sent; an operator must investigate "
                "(the failure is in the audit log)."
            ) from None
        with os.fdopen(fd, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise IntegrityFailure(
                "The staged copy of this file no longer matches the hash that was reviewed. Nothing was "
                "sent; an operator must investigate (the failure is in the audit log)."
            )
        return data

    def verify(self, sha256: str) -> bool:
        try:
            with open(self.blob_path(sha256), "rb") as f:
                digest = hashlib.file_digest(f, "sha256")
        except OSError:
            return False
        return digest.hexdigest() == sha256

    @contextlib.contextmanager
    def checks_view(self, files: Iterable[tuple[str, str]]) -> Iterator[dict[str, Path]]:
        """A temporary tree of hard links to staged blobs under their outbox paths,
        so checks see file names and neighbours (e.g. ACRO's results.json)."""
        base = self.tmp / f"checks-{uuid.uuid4().hex}"
        base.mkdir()
        try:
            paths: dict[str, Path] = {}
            for relpath, sha in files:
                dest = base.joinpath(*split_relpath(relpath))
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.link(self.blob_path(sha), dest)
                paths[relpath] = dest
            yield paths
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def sweep(self, referenced: set[str]) -> SweepReport:
        """Remove temp files and blobs no database row references.

        Run it only while no submission is in progress (the service runs it at start).
        """
        temp_removed = 0
        for entry in list(self.tmp.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                _remove_quietly(entry)
            temp_removed += 1
        orphans = 0
        for prefix in list(self.blobs.iterdir()):
            if not prefix.is_dir():
                continue
            for blob in list(prefix.iterdir()):
                if prefix.name + blob.name not in referenced:
                    _remove_quietly(blob)
                    orphans += 1
        return SweepReport(temp_removed=temp_removed, orphans_removed=orphans)

    def write_manifest(self, request_id: str, content: bytes) -> Path:
        """Write a release manifest next to the staged files (temp + fsync + rename)."""
        final = self.manifests / f"{request_id}.json"
        tmp_path = self.tmp / f"{uuid.uuid4().hex}.manifest"
        try:
            fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
            try:
                _write_all(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp_path, final)
            _fsync_dir(self.manifests)
        except OSError as exc:
            _remove_quietly(tmp_path)
            if exc.errno in _DISK_FULL:
                raise StagingDiskFull(
                    "The airlock's disk is full; the release was not written. Tell an operator."
                ) from None
            raise StagingFailed(
                f"The release manifest could not be written ({exc.strerror}). Tell an operator."
            ) from None
        return final


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
