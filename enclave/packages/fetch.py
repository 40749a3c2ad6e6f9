"""Fetching a package and its dependencies on the host: `pip download`, wheels only.

Only wheels: a source distribution would have to be built inside the workspace, with build tools
from the index. The wheels are chosen for the workspaces' Python (WORKSPACE_PYTHON) on the host's
platform, which is the workspaces' (they run on this host's kernel and architecture).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from ..errors import EnclaveError, InvalidInput, NotFound
from .requirement import PackageRequirement, normalise

WORKSPACE_PYTHON = "3.11"  # the workspace image's Python (Debian bookworm's)
# pip's words when the index could not be reached at all (it then also says "No matching distribution").
_UNREACHABLE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
    r"Name or service not known|ProxyError|ConnectTimeoutError|Network is unreachable|Max retries exceeded"
)


class FetchFailed(EnclaveError):
    pass


@dataclass(frozen=True)
class FetchedFile:
    path: Path
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def project(self) -> str:
        return normalise(parse_wheel_filename(self.path.name)[0])

    @property
    def version(self) -> str:
        return str(parse_wheel_filename(self.path.name)[1])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download_command(requirement: PackageRequirement, dest: Path, wheels_from: Path | None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--only-binary=:all:",
        "--python-version",
        WORKSPACE_PYTHON,
        "--retries",
        "1",
        "--timeout",
        "20",
        "--dest",
        str(dest),
    ]
    if wheels_from is not None:
        command += ["--no-index", "--find-links", str(wheels_from)]
    return [*command, str(requirement)]


def _explain(requirement: PackageRequirement, wheels_from: Path | None, output: str) -> EnclaveError:
    said = " | ".join(line.strip() for line in output.strip().splitlines()[-3:])
    if wheels_from is None and _UNREACHABLE.search(output):
        return FetchFailed(
            f"This host cannot reach its package index to fetch {requirement} (pip said: {said}). On a host "
            "without network, pass '--from DIR' with a folder holding the wheels of the package and of its "
            "dependencies (made elsewhere with 'pip download --only-binary=:all: NAME')."
        )
    if "No matching distribution" in output or "Could not find a version" in output:
        where = f"in {wheels_from}" if wheels_from else "on the host's package index"
        return NotFound(
            f"pip found no wheel of {requirement} for Python {WORKSPACE_PYTHON} {where}, or of one of its "
            f"dependencies (pip said: {said}). Check the name and version; only wheels can be allowed."
        )
    return FetchFailed(f"pip could not fetch {requirement}: {said}")


def fetch(requirement: PackageRequirement, dest: Path, wheels_from: Path | None = None) -> list[FetchedFile]:
    """Download the package's wheel and its dependencies' into `dest`; hash each."""
    if wheels_from is not None and not wheels_from.is_dir():
        raise InvalidInput(f"{wheels_from} is not a folder; '--from' takes a folder of wheels.")
    result = subprocess.run(
        pip_download_command(requirement, dest, wheels_from), capture_output=True, text=True, timeout=1800
    )
    if result.returncode != 0:
        raise _explain(requirement, wheels_from, result.stdout + result.stderr)
    files = []
    for path in sorted(dest.iterdir()):
        try:
            parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            raise FetchFailed(f"pip gave {path.name}, which is not a wheel; only wheels can be allowed.") from None
        files.append(FetchedFile(path=path, sha256=sha256_of(path), size=path.stat().st_size))
    if not any(f.project == requirement.name for f in files):
        raise FetchFailed(f"pip fetched no wheel named {requirement.name}: {', '.join(f.filename for f in files)}")
    return files
