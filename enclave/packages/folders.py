"""The published folders: one per scope (`all`, and `project-<name>`), under <state_dir>/packages.

Each project's index container mounts its project's folder and the installation's, read-only, and
serves what is in them. Files are written whole and renamed into place, readable by all (the index
runs as nobody); a file already there is kept only if it has the recorded hash.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import EnclaveError
from ..settings import EnclaveSettings
from .fetch import FetchedFile, sha256_of

ALL_PROJECTS = "all"


class PackageIntegrityError(EnclaveError):
    """A package file's bytes are not those recorded for its name."""


def packages_root(settings: EnclaveSettings) -> Path:
    return settings.state_path / "packages"


def scope_name(project: str | None) -> str:
    return ALL_PROJECTS if project is None else f"project-{project}"


def scope_folder(settings: EnclaveSettings, project: str | None) -> Path:
    return packages_root(settings) / scope_name(project)


def ensure_folder(settings: EnclaveSettings, project: str | None) -> Path:
    """The scope's folder, made if missing (an index mounts it even while it is empty)."""
    folder = scope_folder(settings, project)
    for path in (packages_root(settings), folder):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o755)
    return folder


def changed_file(filename: str, recorded: str, found: str, where: str) -> PackageIntegrityError:
    return PackageIntegrityError(
        f"{filename} {where} has SHA-256 {found[:16]}..., but {recorded[:16]}... is recorded for that name: the "
        "same file name with other bytes (a wheel re-published upstream, or a changed mirror or folder). Nothing "
        "was changed; find out why before allowing it (the recorded hashes: 'enclave packages list --files')."
    )


def publish(settings: EnclaveSettings, project: str | None, files: list[FetchedFile]) -> list[str]:
    """Put the files in the scope's folder; the names newly written."""
    folder = ensure_folder(settings, project)
    incoming = packages_root(settings) / ".incoming"
    incoming.mkdir(mode=0o700, exist_ok=True)
    written = []
    for file in files:
        target = folder / file.filename
        if target.exists():
            found = sha256_of(target)
            if found != file.sha256:
                raise changed_file(file.filename, file.sha256, found, f"in {folder}")
            continue
        staged = incoming / f"{secrets.token_hex(6)}-{file.filename}"
        shutil.copyfile(file.path, staged)
        staged.chmod(0o644)
        os.replace(staged, target)
        written.append(file.filename)
    return written


def unpublish(settings: EnclaveSettings, project: str | None, filenames: list[str]) -> None:
    folder = scope_folder(settings, project)
    for name in filenames:
        (folder / name).unlink(missing_ok=True)


@dataclass(frozen=True)
class FolderProblem:
    scope: str
    filename: str
    problem: str  # "missing" | "changed" | "not recorded"


def check_folder(settings: EnclaveSettings, project: str | None, recorded: dict[str, str]) -> list[FolderProblem]:
    """Compare a scope's folder with the recorded files (name -> SHA-256)."""
    folder = scope_folder(settings, project)
    present = {p.name: p for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}
    scope = scope_name(project)
    problems = [FolderProblem(scope, name, "missing") for name in sorted(set(recorded) - set(present))]
    problems += [FolderProblem(scope, name, "not recorded") for name in sorted(set(present) - set(recorded))]
    problems += [
        FolderProblem(scope, name, "changed")
        for name in sorted(set(present) & set(recorded))
        if sha256_of(present[name]) != recorded[name]
    ]
    return problems
