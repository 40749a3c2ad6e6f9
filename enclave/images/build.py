"""Building the enclave's images, skipping any whose content-tag exists already; refreshing them with
today's packages (`--refresh`: patches.py).

A workspace image's static files are then copied out of it for the edge, which
serves them itself (enclave/images/static_copy.py, enclave/edge/static.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import ImageNotFound

from .catalog import IMAGES_DIR, SOURCES, WORKSPACE_KINDS, base_image, image_tag, spec
from .patches import RESOLVED, apt_sources, resolved_packages
from .static_copy import StaticCopyError, cache_root, ensure_copy, has_copy, prune

DEFAULT_BUILD_CA = Path("/etc/ssl/certs/ca-certificates.crt")


class ImageBuildError(RuntimeError):
    pass


# Each kind refreshed in this process, with the refresh's stamp: a kind is the parent of several.
_REFRESHED: dict[str, str] = {}


def _exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def build_ca_bundle() -> Path | None:
    """CA bundle for pip inside builds ($ENCLAVE_BUILD_CA_BUNDLE, '' to disable; default: the host's)."""
    configured = os.environ.get("ENCLAVE_BUILD_CA_BUNDLE")
    if configured is not None:
        return Path(configured) if configured else None
    return DEFAULT_BUILD_CA if DEFAULT_BUILD_CA.exists() else None


def ensure_base(client: docker.DockerClient, say: Callable[[str], None]) -> str:
    tag = base_image()
    if _exists(client, tag):
        return tag
    if os.environ.get("ENCLAVE_BASE_IMAGE"):
        say(f"Pulling base image {tag} ...")
        client.images.pull(tag)
        return tag
    say(f"Bootstrapping base image {tag} with debootstrap (about a minute) ...")
    result = subprocess.run(["bash", str(IMAGES_DIR / "base" / "bootstrap.sh"), tag], capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageBuildError(f"Bootstrapping the base image failed:\n{result.stdout}\n{result.stderr}")
    return tag


def build_order(kinds) -> list[str]:
    """`kinds` with those that carry the images' build files (the swarm hub: catalog.SOURCES) last, so that the
    versions every other image resolved in this run (hashed into their tags) are in the copy they carry."""
    return sorted(kinds, key=lambda kind: "images" in SOURCES.get(kind, ()))


def build_image(
    kind: str, say: Callable[[str], None] = print, log_path: Path | None = None, refresh: str | None = None
) -> str:
    """Build `kind` (its parents first) unless its content tag exists; returns its tag.

    The tag covers the package versions the image resolved (patches.py). `refresh` (patches.refresh_stamp())
    builds it and its parents again against today's package archives: an image that resolved to the same
    versions keeps its tag, one with newer packages gets a new one."""
    if refresh is not None and _REFRESHED.get(kind) == refresh:
        refresh = None  # refreshed already in this run (as a parent of an earlier kind)
    client = docker.from_env()
    if refresh is None and _exists(client, image_tag(kind)):
        return _found(client, kind, image_tag(kind), say)
    # The parent first: the base image, or the parent kind built (or found) by its own content tag.
    parent_kind = spec(kind).parent
    if parent_kind is None:
        parent = ensure_base(client, say)
    else:
        parent = build_image(parent_kind, say, _parent_log(log_path, parent_kind), refresh)
    tag = image_tag(kind)  # the parent's tag is part of it
    if refresh is None and _exists(client, tag):
        return _found(client, kind, tag, say)
    say(f"{'Refreshing' if refresh else 'Building'} {tag} (a few minutes the first time) ...")
    built = _docker_build(client, kind, parent, refresh, log_path)
    resolved = spec(kind).context / RESOLVED
    resolved.write_text(resolved_packages(client, built))
    final = image_tag(kind)  # now covering what the image resolved
    if _exists(client, final) and client.images.get(final).id != built:
        client.images.remove(built)  # the same versions as the image already tagged: keep that one
        # A refresh that found no newer packages, or a fresh checkout (no record yet) building from Docker's cache.
        say(f"{final} is up to date: the build resolved the same packages as the image already tagged.")
    else:
        repository, _, version = final.partition(":")
        client.api.tag(built, repository, version)
        say(f"Built {final}.")
    if refresh is not None:
        _REFRESHED[kind] = refresh
    _copy_static_files(client, kind, final, say)
    return final


def _found(client: docker.DockerClient, kind: str, tag: str, say: Callable[[str], None]) -> str:
    say(f"{tag} is up to date.")
    _copy_static_files(client, kind, tag, say)
    return tag


def _docker_build(
    client: docker.DockerClient, kind: str, parent: str, refresh: str | None, log_path: Path | None
) -> str:
    """Build `kind` FROM `parent`, untagged; returns the image's id."""
    with tempfile.TemporaryDirectory(prefix=f"enclave-build-{kind}-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(spec(kind).context, context, ignore=shutil.ignore_patterns(RESOLVED))
        for source in spec(kind).sources:  # the repository's own code, for the swarm hub (catalog.SOURCES)
            target = context / "src" / source.name
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(exist_ok=True)
                shutil.copy2(source, target)
        ca = build_ca_bundle()
        (context / "build-ca.crt").write_bytes(ca.read_bytes() if ca else b"")
        lines: list[str] = []
        built = ""
        try:
            for chunk in client.api.build(
                path=str(context),
                buildargs={"BASE_IMAGE": parent, "APT_SOURCES": apt_sources(), "REFRESH": refresh or ""},
                rm=True,
                forcerm=True,
                decode=True,
                labels={"enclave.kind": kind},
            ):
                if "stream" in chunk:
                    lines.append(chunk["stream"])
                    if chunk["stream"].startswith("Successfully built "):
                        built = built or chunk["stream"].split()[-1]
                if "aux" in chunk and "ID" in chunk["aux"]:
                    built = chunk["aux"]["ID"]
                if "error" in chunk:
                    raise ImageBuildError(chunk["error"])
            if not built:
                raise ImageBuildError("the engine named no image")
        except ImageBuildError as e:
            raise ImageBuildError(f"Building {kind} failed: {e}\n{''.join(lines[-40:])}") from None
        finally:
            if log_path:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                log_path.write_text("".join(lines))
    return client.images.get(built).id


def _copy_static_files(
    client: docker.DockerClient, kind: str, tag: str, say: Callable[[str], None], root: Path | None = None
) -> None:
    """The edge's copy of a workspace image's static files (made once per image), and old copies removed."""
    if kind not in WORKSPACE_KINDS:
        return
    root = root or cache_root()
    fresh = not has_copy(root, tag)
    try:
        folder = ensure_copy(root, tag, client)
    except (StaticCopyError, OSError) as e:
        raise ImageBuildError(f"Copying the static files of {tag} for the edge failed: {e}") from None
    if fresh:
        say(f"Copied the static files of {tag} for the edge to {folder}.")
    for gone in prune(root, client, spec(kind).repository):
        say(f"Removed the edge's copy of {gone} (the image is gone).")


def _parent_log(log_path: Path | None, parent_kind: str) -> Path | None:
    return log_path.with_name(f"{parent_kind}-{log_path.name}") if log_path else None
