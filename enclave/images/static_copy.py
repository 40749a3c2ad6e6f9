"""The edge's copy of a workspace image's static files, taken from the built image, never from a workspace.

A subverted Jupyter server (the analyst's kernel runs beside it, as the same
user) could answer anything at a static file's address. So the edge serves
those addresses itself (enclave/edge/static.py), from this copy: the folders
below, extracted from the image with `docker create` and the archive API (the
image never runs), into `<cache>/<repository>/<tag>/`, each folder at its
path in the image (e.g. `<copy>/opt/venv/share/jupyter/lab/static/`).

What the image serves statically under `/user/<u>/<server>/`, and from where
(read from jupyter_server 2.21, jupyterlab 4.6 / jupyterlab_server 2.28 and
checked against what Chromium asks for; see docs/security.md):

- `static/lab/...`: JupyterLab's app bundle (LabApp.static_dir, its app dir's
  `static`), searched alone: a miss there is a 404, not a look in `static/`.
- `static/...`: jupyter_server's own files (favicons, logo, styles).
- `lab/extensions/...`: federated extensions, from `labextensions` in each
  Jupyter data folder (jupyter_path('labextensions') in the image).
- `lab/api/themes/...`: every extension's `themes` folder, then JupyterLab's.
- `kernelspecs/<kernel>/...`: a kernelspec's resources (its logos), from the
  first `kernels` folder that has the kernel, as KernelSpecManager finds it.
- `custom/...`: custom.css, only served when LabApp.custom_css is on (off
  here): always a 404 today, but never forwarded either.

Only regular files are copied: links, devices and anything outside the
requested folder are left out, so the copy holds nothing that points out of it.
A copy is written to a temporary folder and renamed into place complete, so
concurrent builders and edges see either no copy or a whole one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import docker
from docker.errors import ImageNotFound, NotFound

from ..settings import DEFAULT_STATIC_CACHE

log = logging.getLogger(__name__)

DEFAULT_CACHE = DEFAULT_STATIC_CACHE
MANIFEST = "image.json"

SITE_PACKAGES = "/opt/venv/lib/python3.11/site-packages"
SHARE = "/opt/venv/share/jupyter"
# jupyter_path() in the image, in its order: JUPYTER_DATA_DIR (empty, root-owned), the venv's, the system's.
DATA_FOLDERS = ("/opt/enclave/user-data", SHARE, "/usr/local/share/jupyter", "/usr/share/jupyter")
LAB_STATIC = f"{SHARE}/lab/static"
SERVER_STATIC = f"{SITE_PACKAGES}/jupyter_server/static"
LABEXTENSIONS = tuple(f"{folder}/labextensions" for folder in DATA_FOLDERS)
KERNELS = tuple(f"{folder}/kernels" for folder in DATA_FOLDERS)
LAB_THEMES = f"{SHARE}/lab/themes"
CUSTOM = ("/opt/enclave/user-config/custom", f"{SERVER_STATIC}/custom")


@dataclass(frozen=True)
class StaticRoute:
    """A URL prefix under a workspace's server and the image folders it is served from, first match wins."""

    prefix: tuple[str, ...]
    folders: tuple[str, ...]
    # How a folder's files map to addresses: "files" (path under the folder), "themes" (each extension's
    # `themes` folder, then the folders), "kernelspecs" (<kernel name>/<file>, first folder with the kernel).
    layout: str = "files"


ROUTES = (
    StaticRoute(("static", "lab"), (LAB_STATIC,)),
    StaticRoute(("static",), (SERVER_STATIC,)),
    StaticRoute(("lab", "extensions"), LABEXTENSIONS),
    StaticRoute(("lab", "api", "themes"), (LAB_THEMES,), layout="themes"),
    StaticRoute(("kernelspecs",), KERNELS, layout="kernelspecs"),
    StaticRoute(("custom",), CUSTOM),
)
# Folders a workspace image must have; the others may be absent (e.g. /usr/share/jupyter).
REQUIRED = (LAB_STATIC, SERVER_STATIC)
FOLDERS = tuple(dict.fromkeys([*(f for r in ROUTES for f in r.folders), *LABEXTENSIONS]))


class StaticCopyError(RuntimeError):
    pass


def cache_root() -> Path:
    """Where copies are kept on this machine: $ENCLAVE_STATIC_CACHE or /var/cache/enclave/static.

    Per machine, like the images they come from: every installation (and test run) on the machine
    shares them. EnclaveSettings.static_cache_dir has the same default.
    """
    return Path(os.environ.get("ENCLAVE_STATIC_CACHE", "").strip() or DEFAULT_CACHE)


def copy_folder(root: Path, tag: str) -> Path:
    """The copy of image `tag` (`enclave-workspace:abc123` -> `<root>/enclave-workspace/abc123`)."""
    repository, _, version = tag.rpartition(":")
    if not repository or not version or "/" in version or version in (".", ".."):
        raise StaticCopyError(f"{tag!r} is not an image tag of the form repository:tag")
    return Path(root) / repository.replace("/", "_") / version


def has_copy(root: Path, tag: str) -> bool:
    return (copy_folder(root, tag) / MANIFEST).is_file()


def ensure_copy(root: Path, tag: str, client: docker.DockerClient | None = None) -> Path:
    """The copy of `tag`, extracted from the local image when missing or taken from another build of the tag."""
    client = client or docker.from_env()
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        raise StaticCopyError(
            f"The image {tag} is not on this machine, so its static files cannot be copied: run 'enclave images build'."
        ) from None
    folder = copy_folder(root, tag)
    try:
        if json.loads((folder / MANIFEST).read_text()).get("image_id") == image.id:
            return folder
    except (OSError, ValueError):
        pass
    return extract(client, image, tag, root)


def extract(client: docker.DockerClient, image, tag: str, root: Path) -> Path:
    """Copy the static folders out of `image` (a created, never started, container) into its copy folder."""
    target = copy_folder(root, tag)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    # Created, never started: only its file system is read. Labelled so a left-over one can be told apart.
    container = client.containers.create(
        image.id, command=["true"], network_disabled=True, labels={"enclave.kind": "static-copy", "enclave.image": tag}
    )
    try:
        found, skipped = [], 0
        for folder in FOLDERS:
            copied = _copy_folder_out(container, folder, staging)
            if copied is None:
                if folder in REQUIRED:
                    raise StaticCopyError(
                        f"The image {tag} has no {folder}: the workspace image's layout changed, "
                        "update enclave/images/static_copy.py to match it."
                    )
                continue
            found.append(folder)
            skipped += copied
        (staging / MANIFEST).write_text(
            json.dumps({"tag": tag, "image_id": image.id, "folders": found, "skipped_non_regular": skipped}, indent=1)
        )
        _put_in_place(staging, target)
        log.info("static files of %s copied to %s (%d non-regular entries left out)", tag, target, skipped)
        return target
    finally:
        container.remove(force=True)
        shutil.rmtree(staging, ignore_errors=True)


def _copy_folder_out(container, folder: str, staging: Path) -> int | None:
    """Extract `folder` of the container under `staging` at its own path; None when the image has no such folder.

    Returns how many entries were left out (links, devices, anything not a regular file or folder).
    """
    try:
        stream, stat = container.get_archive(folder)
    except NotFound:
        return None
    with tempfile.TemporaryFile() as spool:
        for chunk in stream:
            spool.write(chunk)
        spool.seek(0)
        if stat.get("linkTarget"):  # the folder itself is a link: not followed
            return 1
        return _extract_regular_files(spool, PurePosixPath(folder), staging)


def _extract_regular_files(archive, folder: PurePosixPath, staging: Path) -> int:
    """The archive's members are named `<folder's name>/...`; write each regular file to staging/<folder>/..."""
    skipped = 0
    destination = staging / folder.relative_to("/")
    with tarfile.open(fileobj=archive, mode="r:") as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if (
                not parts
                or parts[0] != folder.name
                or any(p in ("", ".", "..") for p in parts)
                or member.name.startswith("/")
            ):
                skipped += 1
                continue
            path = destination.joinpath(*parts[1:])
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True, mode=0o755)
            elif member.isfile() or member.islnk():  # a hard link's data is the linked regular file's
                try:
                    data = tar.extractfile(member)
                except KeyError:  # a hard link to a file outside the folder
                    data = None
                if data is None:
                    skipped += 1
                    continue
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(data, out)
            else:
                skipped += 1
    return skipped


def _put_in_place(staging: Path, target: Path) -> None:
    """Rename the finished copy into place; an older copy of the tag (another build of it) is replaced."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        if not has_copy(target.parent.parent, f"{target.parent.name}:{target.name}"):
            raise
        # Another process put the same copy in place meanwhile: theirs is as good as ours.
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def prune(root: Path, client: docker.DockerClient, repository: str) -> list[str]:
    """Remove the copies of `repository` whose image is no longer on this machine; the tags removed."""
    removed = []
    folder = Path(root) / repository
    if not folder.is_dir():
        return removed
    for copy in folder.iterdir():
        if copy.name.startswith(".") or not copy.is_dir():
            continue
        try:
            client.images.get(f"{repository}:{copy.name}")
        except ImageNotFound:
            shutil.rmtree(copy, ignore_errors=True)
            removed.append(f"{repository}:{copy.name}")
    return removed
