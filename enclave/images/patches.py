"""Patches: images built with Debian's security and point-release updates, and what each image resolved to.

Every build upgrades the image's Debian packages from the suites this machine's own apt uses (bookworm,
bookworm-updates, bookworm-security: `apt_sources`, passed to the Dockerfiles as APT_SOURCES, so no mirror's
host name lives in the repository). After a build, the versions the image resolved (`dpkg-query` and
`pip freeze` inside it) are written beside its build files (RESOLVED, machine-local, not in git), and
the content tag hashes them with the build files: the tag covers the resolved versions. A plain build finds
the tag and builds nothing; `enclave images build --refresh` builds again with a new REFRESH argument, which
Docker's layer cache cannot match, so the upgrade and the package installs run against today's archives; if
anything resolved differently, the image gets a new tag (and every image below it).
"""

from __future__ import annotations

import glob
import os
from datetime import UTC, datetime
from pathlib import Path

import docker

RESOLVED = "resolved-packages.txt"  # beside each kind's build files, so its content tag hashes it
SUITES = ("bookworm", "bookworm-updates", "bookworm-security")
# What runs inside a built image to list what it resolved: Debian packages, then the venv's Python packages.
LIST_PACKAGES = (
    "dpkg-query -W -f '${Package}=${Version}\\n' | LC_ALL=C sort; "
    "if [ -x /opt/venv/bin/pip ]; then /opt/venv/bin/pip freeze --all --disable-pip-version-check "
    "| LC_ALL=C sort | sed 's/^/pip:/'; fi"
)


def apt_sources(root: Path = Path("/")) -> str:
    """One-line apt sources for the bookworm suites of this machine's apt configuration, joined by '|'
    (the Dockerfiles write them one a line); $ENCLAVE_APT_SOURCES (a file of such lines) replaces them."""
    configured = os.environ.get("ENCLAVE_APT_SOURCES", "").strip()
    if configured:
        lines = [line.strip() for line in Path(configured).read_text().splitlines()]
        return "|".join(line for line in lines if line.startswith("deb "))
    found: list[str] = []
    for path in sorted(glob.glob(str(root / "etc/apt/sources.list.d/*.sources"))):
        for stanza in Path(path).read_text().split("\n\n"):
            fields = _deb822(stanza)
            if "deb" in fields.get("Types", "").split():
                for uri in fields.get("URIs", "").split():
                    for suite in fields.get("Suites", "").split():
                        found.append(f"deb {uri} {suite} {fields.get('Components', 'main')}")
    for path in [root / "etc/apt/sources.list", *sorted((root / "etc/apt/sources.list.d").glob("*.list"))]:
        if path.is_file():
            found += [line.strip() for line in path.read_text().splitlines() if line.strip().startswith("deb ")]
    wanted = [line for line in found if len(line.split()) >= 4 and line.split()[2] in SUITES]
    return "|".join(dict.fromkeys(wanted))


def _deb822(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if ":" in line and not line.startswith(("#", " ")):
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields


def refresh_stamp() -> str:
    """A REFRESH build argument no earlier build used: the layer cache cannot match it."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def resolved_packages(client: docker.DockerClient, image: str) -> str:
    """The Debian and Python package versions inside `image`, sorted, one a line."""
    output = client.containers.run(
        image, ["sh", "-c", LIST_PACKAGES], entrypoint=[], user="0", network_disabled=True, remove=True
    )
    return output.decode()
