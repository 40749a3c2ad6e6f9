"""`enclave backup DIR` and `enclave restore DIR`: a consistent copy of an installation, taken while it runs.

What is copied: the whole state folder. That is the enclave's, the airlock's and the hub's databases;
the audit anchor; the airlock's staged and released files; projects' folders (homes, outboxes, shared);
registered datasets, their extracts and manifests; keys and secrets (the pseudonymisation key, the key TOTP
secrets are sealed with, cookie and token secrets, the edge's TLS key); logs.

Consistency while people work, by order:
1. the audit anchor first: the log in the database copied next holds at least what it anchors, so
   verify never finds anchored entries cut off the end;
2. the enclave's database (SQLite's online backup: a consistent snapshot while others write);
3. the airlock's database: it holds every entry already forwarded to the enclave's log, and perhaps a
   few not forwarded yet, which the airlock forwards when it next starts (as after any restart);
4. the hub's database;
5. every other file, after the databases that refer to them: a staged or released file named in the
   airlock's snapshot is already on disk (they are content-addressed and only ever added).
Files are never followed through links: a link an analyst made in a home is copied as a link.

The copy goes to `DIR.partial` and is renamed to DIR when whole; its manifest (`backup.json`) lists each
file's SHA-256, size, mode and owner. `restore` checks every hash before it writes anything, restores into
a fresh state folder (never over an installation) through a temporary sibling renamed into place.

Keys: the backup holds the installation's keys, including the pseudonymisation key that links
pseudonyms to participants. It is written root-only (folders 0700, files 0600 besides their recorded
modes) and must be kept like the state folder itself: on an encrypted volume, never beside the data
provider's identifiers. The TOTP sealing key (hub/totp-seal-key) travels with the database whose secrets it
opens: without it, no enrolled second factor can be checked. The encrypted volume's own key
(enclave/atrest/volume.py) is not in the state folder and not in a backup: the operator keeps it, offline too,
and a backup kept on that volume is encrypted with it. PostgreSQL databases are not copied by this command:
back them up with the database's own tools (docs/operators.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from .errors import EnclaveError

FORMAT = 1
MANIFEST = "backup.json"
FILES = "state"  # the state folder's copy inside a backup
ANCHOR_FOLDER = "audit"
# SQLite's companions of a live database: its snapshot replaces them.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Database:
    """A SQLite database of the installation, by its path relative to the state folder."""

    name: str  # enclave, airlock, hub
    relative: str


@dataclass(frozen=True)
class Summary:
    folder: Path
    files: int
    links: int
    bytes: int
    databases: list[str]
    skipped: int  # sockets, fifos, devices: not copied


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None when the database is elsewhere (PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    return Path(parsed.database) if parsed.database not in (None, "", ":memory:") else None


def installation_databases(settings, airlock_url: str | None = None) -> list[Database]:
    """The installation's databases in the order they are copied (the module's docstring says why)."""
    state = settings.state_path.resolve()
    found = []
    named = [
        ("enclave", settings.database_url),
        ("airlock", airlock_url or f"sqlite:///{state / 'airlock' / 'egress-review.sqlite'}"),
        ("hub", f"sqlite:///{state / 'hub' / 'jupyterhub.sqlite'}"),
    ]
    for name, url in named:
        path = sqlite_path(url)
        if path is None:
            raise EnclaveError(
                f"The {name} database is not a SQLite file in the state folder ({make_url(url).drivername}"
                "): back it up with the database's own tools (docs/operators.md, Backups), then "
                "copy the state folder's files."
            )
        path = path.resolve()
        if state not in path.parents:
            raise EnclaveError(
                f"The {name} database {path} is outside the state folder {state}: back it up "
                "separately, or keep it in the state folder."
            )
        found.append(Database(name, str(path.relative_to(state))))
    return found


def back_up(settings, destination: Path, airlock_url: str | None = None) -> Summary:
    """Copy the installation whose settings are given into `destination` (which must not exist yet)."""
    destination = Path(destination).absolute()
    state = settings.state_path.resolve()
    if destination.exists():
        raise EnclaveError(
            f"{destination} already exists: back up into a new folder, so that no earlier backup is overwritten."
        )
    if state == destination or state in destination.parents:
        raise EnclaveError(f"{destination} is inside the state folder {state}: choose a folder outside it.")
    databases = installation_databases(settings, airlock_url)
    partial = destination.with_name(f"{destination.name}.partial")
    if partial.exists():
        shutil.rmtree(partial)  # a backup that stopped half-way: never used, made again
    copy_root = partial / FILES
    copy_root.mkdir(parents=True, mode=0o700)
    partial.chmod(0o700)
    entries: dict[str, dict] = {}
    try:
        _copy_tree(state / ANCHOR_FOLDER, copy_root / ANCHOR_FOLDER, state, entries)
        for database in databases:
            _snapshot_sqlite(state / database.relative, copy_root / database.relative, entries, database.relative)
        skipped = _copy_tree(state, copy_root, state, entries, skip=_database_files(databases))
        manifest = {
            "format": FORMAT,
            "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "state_dir": str(state),
            "instance": settings.instance,
            "databases": {d.name: d.relative for d in databases},
            "files": [dict(path=p, **e) for p, e in sorted(entries.items())],
        }
        _write_json(partial / MANIFEST, manifest)
        _fsync_folder(partial)
        os.rename(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    files = [e for e in entries.values() if e["kind"] == "file"]
    return Summary(
        destination,
        len(files),
        sum(1 for e in entries.values() if e["kind"] == "link"),
        sum(e["size"] for e in files),
        [d.name for d in databases],
        skipped,
    )


def restore(backup: Path, state_dir: Path) -> Summary:
    """Put a backup in place as the state folder `state_dir`, which must be absent or empty."""
    backup = Path(backup).absolute()
    state_dir = Path(state_dir).absolute()
    manifest = read_manifest(backup)
    if state_dir.exists() and any(state_dir.iterdir()):
        raise EnclaveError(
            f"{state_dir} is not empty: restore onto a fresh state folder (an installation is "
            "never overwritten). Move it aside or name another ENCLAVE_STATE_DIR."
        )
    problems = check(backup, manifest)
    if problems:
        raise EnclaveError(
            f"The backup {backup} does not match its manifest, so nothing was restored: "
            + "; ".join(problems[:5])
            + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        )
    partial = state_dir.with_name(f".{state_dir.name}.restoring")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True, mode=0o700)
    try:
        source = backup / FILES
        for entry in manifest["files"]:  # sorted: folders come before what they hold
            _restore_entry(source, partial, entry)
        for entry in reversed(manifest["files"]):  # folders' modes last, so a read-only one can be filled
            if entry["kind"] == "folder":
                _apply_owner_and_mode(partial / entry["path"], entry)
        _fsync_folder(partial)
        if state_dir.exists():
            state_dir.rmdir()
        os.rename(partial, state_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    files = [e for e in manifest["files"] if e["kind"] == "file"]
    return Summary(
        state_dir,
        len(files),
        sum(1 for e in manifest["files"] if e["kind"] == "link"),
        sum(e["size"] for e in files),
        list(manifest["databases"]),
        0,
    )


def read_manifest(backup: Path) -> dict:
    try:
        manifest = json.loads((backup / MANIFEST).read_text())
    except FileNotFoundError:
        raise EnclaveError(
            f"{backup} is not a backup: it has no {MANIFEST} (a backup that stopped half-way is "
            "left as <name>.partial and is never restored)."
        ) from None
    except (OSError, ValueError) as error:
        raise EnclaveError(f"The manifest of {backup} cannot be read: {error}") from None
    if manifest.get("format") != FORMAT:
        raise EnclaveError(
            f"{backup} is a backup of format {manifest.get('format')!r}; this enclave restores format {FORMAT}."
        )
    return manifest


def check(backup: Path, manifest: dict) -> list[str]:
    """What in the backup's files differs from its manifest (empty: all of it is as recorded)."""
    problems = []
    source = backup / FILES
    for entry in manifest["files"]:
        relative = Path(entry["path"])
        if relative.is_absolute() or ".." in relative.parts:
            problems.append(f"{entry['path']}: not a path inside the backup")
            continue
        path = source / relative
        if entry["kind"] == "file":
            if path.is_symlink() or not path.is_file():
                problems.append(f"{entry['path']}: missing")
            elif _sha256(path) != entry["sha256"]:
                problems.append(f"{entry['path']}: its content changed")
        elif entry["kind"] == "link" and (not path.is_symlink() or os.readlink(path) != entry["target"]):
            problems.append(f"{entry['path']}: the link is missing or points elsewhere")
    return problems


# --- copying ----------------------------------------------------------------------------------------


def _database_files(databases: list[Database]) -> set[str]:
    return {d.relative + suffix for d in databases for suffix in ("", *SQLITE_COMPANIONS)}


def _snapshot_sqlite(source: Path, target: Path, entries: dict, relative: str) -> None:
    """SQLite's online backup of a live database: consistent, whatever others write meanwhile."""
    if not source.exists():
        return  # e.g. the airlock has never run here
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()
    info = source.stat()
    _chown(target, info.st_uid, info.st_gid)
    os.chmod(target, stat.S_IMODE(info.st_mode))
    entries[relative] = _file_entry(target, info)
    _fsync_file(target)


def _copy_tree(root: Path, target_root: Path, state: Path, entries: dict, skip: set[str] = frozenset()) -> int:
    """Copy `root` (inside the state folder) to the same place under `target_root`; links as links."""
    skipped = 0
    if not root.exists():
        return skipped
    for folder, subfolders, names in os.walk(root, followlinks=False):
        folder_path = Path(folder)
        relative_folder = folder_path.relative_to(root)
        target_folder = target_root / relative_folder
        target_folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = str(folder_path.relative_to(state))
        if key != "." and key not in entries:
            entries[key] = _folder_entry(folder_path.lstat())
        for name in sorted(names) + [s for s in subfolders if (folder_path / s).is_symlink()]:
            path = folder_path / name
            key = str(path.relative_to(state))
            if key in skip or key in entries:
                continue
            try:
                info = path.lstat()
            except FileNotFoundError:  # removed while we walked (a temporary file): it was not there
                continue
            target = target_folder / name
            if stat.S_ISLNK(info.st_mode):
                link_target = os.readlink(path)
                os.symlink(link_target, target)
                entries[key] = {"kind": "link", "target": link_target, "uid": info.st_uid, "gid": info.st_gid}
            elif stat.S_ISREG(info.st_mode):
                try:
                    _copy_file(path, target)
                except FileNotFoundError:
                    continue
                entries[key] = _file_entry(target, info)
            else:
                skipped += 1
        subfolders[:] = [s for s in subfolders if not (folder_path / s).is_symlink()]
    return skipped


def _copy_file(source: Path, target: Path) -> None:
    # O_NOFOLLOW: the file cannot be swapped for a link between lstat and open.
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as reader, open(target, "xb") as writer:
        shutil.copyfileobj(reader, writer, 1024 * 1024)
        writer.flush()
        os.fsync(writer.fileno())


def _file_entry(copy: Path, info: os.stat_result) -> dict:
    return {
        "kind": "file",
        "size": copy.stat().st_size,
        "sha256": _sha256(copy),
        "mode": stat.S_IMODE(info.st_mode),
        "uid": info.st_uid,
        "gid": info.st_gid,
    }


def _folder_entry(info: os.stat_result) -> dict:
    return {"kind": "folder", "mode": stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}


def _restore_entry(source: Path, target_root: Path, entry: dict) -> None:
    target = target_root / entry["path"]
    if entry["kind"] == "folder":
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        return
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if entry["kind"] == "link":
        os.symlink(entry["target"], target)
        _chown(target, entry["uid"], entry["gid"], follow=False)
        return
    _copy_file(source / entry["path"], target)
    _apply_owner_and_mode(target, entry)


def _apply_owner_and_mode(path: Path, entry: dict) -> None:
    _chown(path, entry["uid"], entry["gid"])
    os.chmod(path, entry["mode"])


def _chown(path: Path, uid: int, gid: int, follow: bool = True) -> None:
    """Owners are kept when root runs this (as operators do); another account keeps its own."""
    if os.geteuid() == 0:
        os.chown(path, uid, gid, follow_symlinks=follow)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        for block in iter(lambda: reader.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, content: dict) -> None:
    with open(path, "x") as writer:
        json.dump(content, writer, indent=1)
        writer.write("\n")
        writer.flush()
        os.fsync(writer.fileno())


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(path: Path) -> None:
    _fsync_file(path)
