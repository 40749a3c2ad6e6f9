"""The images an operator can give a project, tagged by the hash of their content.

A tag is the SHA-256 of the build context (Dockerfile and every file beside
it) and of the parent image's tag, so an unchanged image is never rebuilt and
a changed one never reuses a stale build.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

IMAGES_DIR = Path(os.environ.get("ENCLAVE_IMAGES_DIR", Path(__file__).resolve().parents[2] / "images"))
KINDS = ("workspace",)


@dataclass(frozen=True)
class ImageSpec:
    kind: str
    context: Path
    repository: str


def spec(kind: str) -> ImageSpec:
    if kind not in KINDS:
        raise ValueError(f"Unknown image {kind!r}; known images: {', '.join(KINDS)}")
    return ImageSpec(kind=kind, context=IMAGES_DIR / kind, repository=f"enclave-{kind}")


def _hash_tree(folder: Path, digest) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")


def base_image() -> str:
    """The parent of every enclave image: the operator's choice, or the locally bootstrapped one."""
    configured = os.environ.get("ENCLAVE_BASE_IMAGE", "").strip()
    if configured:
        return configured
    digest = hashlib.sha256()
    _hash_tree(IMAGES_DIR / "base", digest)
    return f"enclave-base:bookworm-{digest.hexdigest()[:12]}"


def image_tag(kind: str) -> str:
    image = spec(kind)
    digest = hashlib.sha256(base_image().encode() + b"\0")
    _hash_tree(image.context, digest)
    return f"{image.repository}:{digest.hexdigest()[:12]}"
