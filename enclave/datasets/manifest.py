"""Checksum manifests: the size and SHA-256 of every file in a dataset folder.

A manifest is computed when an operator registers a dataset and checked
later, so that tampering or corruption is detected before analysts see the
data. Only regular files are allowed: a symlink could point outside the
dataset and a special file (fifo, socket, device) has no stable content, so
either makes ``compute_manifest`` refuse the folder.

The manifest's JSON is canonical (sorted keys, no spaces, ASCII), so equal
datasets give equal text and an equal ``digest``, whatever order the files
were created in.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Literal

from enclave.errors import EnclaveError

FORMAT_VERSION = 1
MISMATCH_KINDS = ("missing", "unexpected", "changed")
CHUNK_BYTES = 1024 * 1024
# hashlib releases the GIL while hashing, so a few threads use a few cores.
HASH_THREADS = min(4, os.cpu_count() or 1)

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(EnclaveError):
    """A folder cannot be given a manifest, or a manifest text is invalid."""


@dataclass(frozen=True)
class ManifestEntry:
    """One regular file of the dataset."""

    path: str  # relative POSIX path inside the dataset folder
    size: int
    sha256: str

    def __post_init__(self) -> None:
        _check_relative_path(self.path)
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ManifestError(f"{self.path}: size must be a non-negative integer, not {self.size!r}")
        if not isinstance(self.sha256, str) or not _SHA256_RE.match(self.sha256):
            raise ManifestError(f"{self.path}: sha256 must be 64 lower-case hex digits")


@dataclass(frozen=True)
class Manifest:
    """Every file of a dataset folder, sorted by path."""

    entries: tuple[ManifestEntry, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        if not all(isinstance(entry, ManifestEntry) for entry in self.entries):
            raise ManifestError("manifest entries must be ManifestEntry objects")
        paths = [entry.path for entry in self.entries]
        if paths != sorted(paths):
            raise ManifestError("manifest entries must be sorted by path")
        if len(set(paths)) != len(paths):
            raise ManifestError("manifest lists the same path more than once")
        if not paths:
            raise ManifestError("a manifest lists at least one file")

    @property
    def file_count(self) -> int:
        return len(self.entries)

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.entries)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the entries: the dataset's identity."""
        entries = [asdict(entry) for entry in self.entries]
        return hashlib.sha256(_canonical(entries).encode("ascii")).hexdigest()

    def to_json(self) -> str:
        return _canonical({"format": FORMAT_VERSION, "entries": [asdict(entry) for entry in self.entries]})

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as error:
            raise ManifestError(f"manifest is not valid JSON: {error}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise ManifestError(
                f'manifest must be a JSON object with "format": {FORMAT_VERSION}; '
                "recompute it with this version of enclave"
            )
        entries = data.get("entries")
        if not isinstance(entries, list) or set(data) != {"format", "entries"}:
            raise ManifestError('manifest must hold exactly "format" and an "entries" list')
        parsed = []
        for item in entries:
            if not isinstance(item, dict) or set(item) != {"path", "size", "sha256"}:
                raise ManifestError('each manifest entry must hold exactly "path", "size" and "sha256"')
            parsed.append(ManifestEntry(**item))
        return cls(tuple(parsed))


@dataclass(frozen=True)
class Mismatch:
    """One difference between a folder and its manifest, with a message for people."""

    path: str
    kind: Literal["missing", "unexpected", "changed"]
    message: str

    def __post_init__(self) -> None:
        if self.kind not in MISMATCH_KINDS:
            raise ValueError(f"mismatch kind must be one of {MISMATCH_KINDS}, not {self.kind!r}")


def compute_manifest(folder: Path) -> Manifest:
    """Hash every file under ``folder``; raise ManifestError if it cannot be trusted."""
    folder = _check_folder(folder)
    files, others = _walk(folder)
    if others:
        path, kind = others[0]
        more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
        raise ManifestError(
            f"{folder / path} is a {kind}{more}; a dataset folder may hold only regular files "
            "and folders: replace links with copies of their targets and remove special files"
        )
    if not files:
        raise ManifestError(f"{folder} holds no files; put the dataset's files in it first")
    hashed = _hash_files(folder, sorted(files))
    return Manifest(tuple(ManifestEntry(path, size, digest) for path, (size, digest) in hashed.items()))


def verify_manifest(folder: Path, manifest: Manifest) -> list[Mismatch]:
    """Compare ``folder`` with ``manifest``; an empty list means they match.

    Sizes are compared first, so only files of the right size are hashed.
    """
    folder = _check_folder(folder)
    files, others = _walk(folder)
    expected = {entry.path: entry for entry in manifest.entries}
    found: list[Mismatch] = []
    for path, kind in others:
        if path in expected:
            found.append(Mismatch(path, "changed", f"{path} is now a {kind}, not a regular file"))
        else:
            found.append(Mismatch(path, "unexpected", f"{path} ({kind}) is not in the manifest"))
    for path in set(files) - set(expected):
        found.append(Mismatch(path, "unexpected", f"{path} is not in the manifest"))
    not_regular = {path for path, _ in others}
    same_size = []
    for path, entry in expected.items():
        if path in files and files[path] == entry.size:
            same_size.append(path)
        elif path in files:
            message = f"{path} has {files[path]} bytes; the manifest says {entry.size}"
            found.append(Mismatch(path, "changed", message))
        elif path not in not_regular:
            found.append(Mismatch(path, "missing", f"{path} is in the manifest, not in the folder"))
    for path, (size, digest) in _hash_files(folder, same_size, missing_ok=True).items():
        entry = expected[path]
        if size is None:
            found.append(Mismatch(path, "missing", f"{path} disappeared while it was checked"))
        elif size != entry.size or digest != entry.sha256:
            message = f"{path}: content differs from the manifest (sha256 {digest})"
            found.append(Mismatch(path, "changed", message))
    return sorted(found, key=lambda mismatch: (mismatch.path, mismatch.kind))


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _check_relative_path(path) -> None:
    if not isinstance(path, str) or not path:
        raise ManifestError(f"manifest path must be a non-empty string, not {path!r}")
    parts = PurePosixPath(path).parts
    if (
        path.startswith("/")
        or "\\" in path
        or path != str(PurePosixPath(path))
        or any(part in (".", "..") for part in parts)
    ):
        raise ManifestError(f"manifest path {path!r} must be a plain relative POSIX path inside the folder")


def _check_folder(folder: Path) -> Path:
    folder = Path(folder)
    if folder.is_symlink():
        raise ManifestError(f"{folder} is a symlink; give the real folder instead: {folder.resolve()}")
    if not folder.exists():
        raise ManifestError(f"{folder} does not exist; check the path of the dataset folder")
    if not folder.is_dir():
        raise ManifestError(f"{folder} is not a folder; give the folder that holds the dataset's files")
    return folder


def _walk(folder: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Regular files (relative path -> size) and anything else (path, kind).

    Symlinks are reported, never followed.
    """
    files: dict[str, int] = {}
    others: list[tuple[str, str]] = []
    pending = [(folder, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as listing:
                items = list(listing)
        except OSError as error:
            raise ManifestError(f"cannot list {directory}: {error.strerror}; check its permissions") from None
        for item in items:
            relative = prefix + item.name
            try:
                relative.encode("utf-8")
            except UnicodeEncodeError:
                raise ManifestError(
                    f"{directory}/{item.name!r} has a name that is not valid UTF-8; rename it"
                ) from None
            mode = item.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                pending.append((Path(item.path), relative + "/"))
            elif stat.S_ISREG(mode):
                files[relative] = item.stat(follow_symlinks=False).st_size
            else:
                others.append((relative, _kind(mode)))
    others.sort()
    return files, others


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _hash_files(folder: Path, paths: list[str], missing_ok: bool = False) -> dict[str, tuple[int | None, str | None]]:
    """(size, sha256) of each path, in the order given, hashed by a small thread pool."""
    if len(paths) <= 1 or HASH_THREADS == 1:
        results = [_hash_file(folder, path, missing_ok) for path in paths]
    else:
        with ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="manifest") as pool:
            results = list(pool.map(lambda path: _hash_file(folder, path, missing_ok), paths))
    return dict(zip(paths, results))


def _hash_file(folder: Path, path: str, missing_ok: bool) -> tuple[int | None, str | None]:
    """Stream one file through SHA-256 in 1 MiB chunks; never follow a link."""
    full = folder / path
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        if missing_ok:
            return None, None
        raise ManifestError(f"{full} disappeared while it was being hashed; try again") from None
    except OSError as error:
        raise ManifestError(f"cannot read {full}: {error.strerror}; check it is a readable regular file") from None
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ManifestError(f"{full} is no longer a regular file; check the folder and try again")
        while count := handle.readinto(buffer):
            digest.update(view[:count])
            size += count
    return size, digest.hexdigest()
