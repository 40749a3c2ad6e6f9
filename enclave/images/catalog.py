"""The images an operator can give a project, tagged by the hash of their content.

Images form a chain: the base (bootstrapped Debian, or the operator's) ->
`workspace` -> `genomics` or `r`. A tag is the SHA-256 of the build context
(Dockerfile and every file beside it) and of the parent image's tag, so an
unchanged image is never rebuilt, a changed one never reuses a stale build,
and a change anywhere up the chain gives every image below it a new tag.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

IMAGES_DIR = Path(os.environ.get("ENCLAVE_IMAGES_DIR", Path(__file__).resolve().parents[2] / "images"))
# Each kind's parent kind; None means the base image. Order: parents before children.
PARENTS: dict[str, str | None] = {
    "workspace": None,
    "genomics": "workspace",
    "r": "workspace",
    "hub": None,
    "packages": None,
}
KINDS = tuple(PARENTS)
# What runs a project's workspace; `hub` is the hub itself in swarm mode (enclave/swarm/); `packages` is a
# project's package index (enclave/packages/).
WORKSPACE_KINDS = ("workspace", "genomics", "r")
# Parts of this repository a kind's build also takes (copied under src/ in its context, and hashed
# into its tag): the swarm hub runs the enclave package itself, and computes the workspace images' tags
# from their build files as the host does; the R image stages its files as the genomics image does.
REPO = Path(__file__).resolve().parents[2]
SOURCES: dict[str, tuple[str, ...]] = {
    "hub": ("pyproject.toml", "README.md", "enclave", "egress_review", "hub_config", "images"),
    "r": ("images/genomics/build/list-files.sh",),
}


@dataclass(frozen=True)
class ImageSpec:
    kind: str
    context: Path
    repository: str
    parent: str | None  # the parent kind, or None for the base image
    sources: tuple[Path, ...] = ()  # repository files and folders copied to src/ in the build context


def spec(kind: str) -> ImageSpec:
    if kind not in PARENTS:
        raise ValueError(f"Unknown image {kind!r}; known images: {', '.join(KINDS)}")
    return ImageSpec(
        kind=kind,
        context=IMAGES_DIR / kind,
        repository=f"enclave-{kind}",
        parent=PARENTS[kind],
        sources=tuple(REPO / name for name in SOURCES.get(kind, ())),
    )


def lineage(kind: str) -> list[str]:
    """The kinds to build for `kind`, parents first (e.g. ['workspace', 'genomics'])."""
    chain = []
    current: str | None = kind
    while current is not None:
        chain.append(current)
        current = spec(current).parent
    return chain[::-1]


def _hash_tree(folder: Path, digest) -> None:
    files = [folder] if folder.is_file() else folder.rglob("*")
    for path in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder.parent if folder.is_file() else folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")


def base_image() -> str:
    """The root of every enclave image: the operator's choice, or the locally bootstrapped one."""
    configured = os.environ.get("ENCLAVE_BASE_IMAGE", "").strip()
    if configured:
        return configured
    digest = hashlib.sha256()
    _hash_tree(IMAGES_DIR / "base", digest)
    return f"enclave-base:bookworm-{digest.hexdigest()[:12]}"


def parent_image(kind: str) -> str:
    """The image `kind` is built FROM: the base, or its parent kind's content tag."""
    parent = spec(kind).parent
    return base_image() if parent is None else image_tag(parent)


def image_tag(kind: str) -> str:
    image = spec(kind)
    digest = hashlib.sha256(parent_image(kind).encode() + b"\0")
    _hash_tree(image.context, digest)
    for source in image.sources:
        digest.update(source.name.encode() + b"\0")
        _hash_tree(source, digest)
    return f"{image.repository}:{digest.hexdigest()[:12]}"
