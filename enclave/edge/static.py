"""The workspace image's static files, answered by the edge itself and never asked of a workspace.

A workspace's Jupyter server runs beside the analyst's code, as the same
user, so whatever it answers is analyst-controlled; static files would pass
unmetered. Instead the edge serves every static address under
`/user/<user>/<server>/` (the prefixes in enclave/images/static_copy.py:
`static/`, `lab/extensions/`, `lab/api/themes/`, `kernelspecs/<kernel>/`,
`custom/`) from its copy of the image the server's project runs, made when the
image was built. Those bytes come from the image, not from anything an analyst
can write, so they need no metering. A static address the copy does not hold
is a 404 from the edge, never a question to the workspace.

    found = assets.lookup(user, server, rest_segments, query)   # None: not a static address
    if found is not None:
        return await assets.response_for(found, request)

Lookups are answered from an index of the copy held in memory (one walk of it,
the first time an image is asked for), so only files that are in the copy can
ever be sent, whatever the address says. A missing copy is made from the local
image on first use; when that fails the edge answers 503 and logs why (fail
closed: the workspace is never asked instead).
"""

from __future__ import annotations

import asyncio
import glob
import json
import logging
import mimetypes
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from aiohttp import web

from ..images.catalog import WORKSPACE_KINDS, image_tag
from ..images.static_copy import LABEXTENSIONS, MANIFEST, ROUTES, StaticCopyError, StaticRoute, copy_folder, ensure_copy
from ..state.db import StateDB
from ..state.queries import find_project
from .headers import EDGE_MARKER

log = logging.getLogger(__name__)

MARKER = "static"  # X-Enclave-Edge on everything this module answers
METHODS = ("GET", "HEAD")
# Addresses with ?v=<hash> change when their content does (JupyterLab's bundle, extensions): cached long.
VERSIONED_CACHE = "max-age=31536000"
UNVERSIONED_CACHE = "no-cache"  # revalidated each time (ETag and Last-Modified from the copy's file)
RETRY_AFTER_FAILURE = 10.0  # seconds before trying again to make a copy that could not be made
_TYPES = mimetypes.MimeTypes()
_TYPE_OVERRIDES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".map": "application/json",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".ico": "image/x-icon",
}

ImageFor = Callable[[str, str], "str | None"]  # (user, server) -> the image tag its project runs, or None


@dataclass(frozen=True)
class StaticFile:
    """A static address, resolved: the file to send, or none (404), or a copy still to be made."""

    image: str | None  # the image tag the address is served from; None when the server is no project's
    prefix: tuple[str, ...]  # the static route (e.g. ('static', 'lab'))
    relative: tuple[str, ...]  # the address under it
    path: Path | None = None  # the file in the copy; None: not found
    content_type: str = "application/octet-stream"
    cache_control: str = UNVERSIONED_CACHE
    ready: bool = True  # False: the image's copy is not made yet (response_for makes it, then answers)
    unavailable: str = ""  # why the copy cannot be had (503), else ""

    @property
    def route(self) -> str:
        return "/".join(self.prefix + self.relative)


def content_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    return _TYPE_OVERRIDES.get(suffix) or _TYPES.guess_type(name)[0] or "application/octet-stream"


def static_route(rest: tuple[str, ...]) -> StaticRoute | None:
    """The static route an address under a server belongs to (the longest prefix), or None. Case matters,
    as it does to the server's own routes."""
    matches = [r for r in ROUTES if rest[: len(r.prefix)] == r.prefix]
    return max(matches, key=lambda r: len(r.prefix)) if matches else None


class CopyIndex:
    """Every address one copy answers, mapped to its file: built once by walking the copy (regular files only)."""

    def __init__(self, copy: Path):
        self.copy = copy
        self.routes: dict[tuple[str, ...], dict[tuple[str, ...], Path]] = {}
        for route in ROUTES:
            files: dict[tuple[str, ...], Path] = {}
            if route.layout == "kernelspecs":
                self._add_kernelspecs(route, files)
            else:
                for root in self._roots(route):
                    _add_files(root, (), files)
            self.routes[route.prefix] = files

    def _in_copy(self, image_folder: str) -> Path:
        return self.copy / image_folder.lstrip("/")

    def _roots(self, route: StaticRoute) -> list[Path]:
        roots = [self._in_copy(f) for f in route.folders]
        if route.layout == "themes":  # as jupyterlab_server's ThemesHandler: extensions' themes first
            extension_themes = [
                Path(p)
                for folder in LABEXTENSIONS
                for p in sorted(glob.glob(f"{glob.escape(str(self._in_copy(folder)))}/**/themes", recursive=True))
            ]
            roots = extension_themes + roots
        return roots

    def _add_kernelspecs(self, route: StaticRoute, files: dict) -> None:
        seen = set()
        for folder in route.folders:
            kernels = self._in_copy(folder)
            if not kernels.is_dir():
                continue
            for kernel in sorted(kernels.iterdir()):
                name = kernel.name.lower()  # KernelSpecManager's names are lower-case
                if name in seen or not (kernel / "kernel.json").is_file():
                    continue
                seen.add(name)
                _add_files(kernel, (name,), files)

    def find(self, prefix: tuple[str, ...], relative: tuple[str, ...]) -> Path | None:
        if prefix == ("kernelspecs",) and relative:
            relative = (relative[0].lower(),) + relative[1:]
        return self.routes.get(prefix, {}).get(relative)


def _add_files(root: Path, under: tuple[str, ...], files: dict) -> None:
    """Index the regular files below `root` as `under + their path`, without replacing an earlier root's."""
    if not root.is_dir() or root.is_symlink():
        return
    for folder, subfolders, names in os.walk(root, followlinks=False):
        relative = Path(folder).relative_to(root).parts
        for name in names:
            path = Path(folder) / name
            if stat.S_ISREG(path.lstat().st_mode):
                files.setdefault(under + relative + (name,), path)


class ProjectImages:
    """Which image a server runs: its project's image kind, by that kind's content tag (as the spawner picks it).

    Read from the state database and kept for `ttl` seconds, so a page load's hundred static files cost
    one query.
    """

    def __init__(self, db: StateDB, ttl: float = 30.0, clock=time.monotonic):
        self.db = db
        self.ttl = ttl
        self.clock = clock
        self._known: dict[str, tuple[float, str | None]] = {}

    def __call__(self, user: str, server: str) -> str | None:
        now = self.clock()
        known = self._known.get(server)
        if known is not None and now - known[0] < self.ttl:
            return known[1]
        with self.db.reading() as session:
            project = find_project(session, server)
            kind = project.image if project is not None else None
        tag = image_tag(kind) if kind in WORKSPACE_KINDS else None
        self._known[server] = (now, tag)
        return tag


class StaticAssets:
    def __init__(
        self,
        cache_dir: Path | str,
        image_for: ImageFor,
        make_copy: Callable[[Path, str], Path] = ensure_copy,
        clock=time.monotonic,
    ):
        self.cache_dir = Path(cache_dir)
        self.image_for = image_for
        self.make_copy = make_copy  # (cache_dir, tag) -> the copy's folder; extracts it from the local image
        self.clock = clock
        self._indexes: dict[str, CopyIndex] = {}
        self._making: dict[str, asyncio.Future] = {}
        self._failed: dict[str, tuple[float, str]] = {}

    @classmethod
    def from_settings(cls, settings, db: StateDB) -> StaticAssets:
        return cls(settings.static_cache_dir, ProjectImages(db))

    # --- which file ----------------------------------------------------------------------

    def lookup(self, user: str, server: str, rest: tuple[str, ...], query: str = "") -> StaticFile | None:
        """None when `rest` (the canonical path's segments under /user/<user>/<server>/) is not a static
        address; else the file to send, or a StaticFile without a path (404). The query is not part of the
        lookup; only `v` (a version) makes the answer cacheable for long."""
        route = static_route(tuple(rest))
        if route is None:
            return None
        relative = tuple(rest[len(route.prefix) :])
        tag = self.image_for(user, server)
        if tag is None:
            return StaticFile(None, route.prefix, relative)
        index = self._index(tag)
        if index is None:
            failed = self._failed.get(tag)
            if failed and self.clock() - failed[0] < RETRY_AFTER_FAILURE:
                return StaticFile(tag, route.prefix, relative, unavailable=failed[1])
            return StaticFile(tag, route.prefix, relative, ready=False)
        return _resolve(index, tag, route.prefix, relative, query)

    def _index(self, tag: str) -> CopyIndex | None:
        index = self._indexes.get(tag)
        if index is None:
            folder = copy_folder(self.cache_dir, tag)
            if not (folder / MANIFEST).is_file():
                return None
            index = self._indexes[tag] = CopyIndex(folder)
        return index

    async def _made(self, tag: str) -> str:
        """Make the copy of `tag` (once, however many requests wait for it); '' when made, else why not."""
        making = self._making.get(tag)
        if making is None:
            making = self._making[tag] = asyncio.ensure_future(asyncio.to_thread(self.make_copy, self.cache_dir, tag))
            making.add_done_callback(lambda _: self._making.pop(tag, None))
        try:
            await asyncio.shield(making)
        except (StaticCopyError, OSError) as error:
            why = str(error)
        except Exception as error:  # noqa: BLE001 - the Docker engine's errors among others: fail closed
            why = f"{type(error).__name__}: {error}"
        else:
            self._failed.pop(tag, None)
            return ""
        if tag not in self._failed or self.clock() - self._failed[tag][0] >= RETRY_AFTER_FAILURE:
            log.error(
                "static files of %s are not available, static addresses of its workspaces get 503 (never "
                "the workspace): %s",
                tag,
                why,
            )
        self._failed[tag] = (self.clock(), why)
        return why

    # --- the answer ----------------------------------------------------------------------

    async def response_for(self, found: StaticFile, request: web.Request) -> web.StreamResponse:
        """The edge's answer for a static address: the file, 404, 405 or 503; never the workspace's."""
        if request.method not in METHODS:
            return _answer(405, f"{request.method} is not allowed on a static file.", Allow=", ".join(METHODS))
        if not found.ready or (found.path is not None and not found.path.is_file()):
            # No copy yet, or the copy was replaced since it was indexed (the same tag built again): (re)make it.
            self._indexes.pop(found.image, None)
            why = await self._made(found.image)
            index = None if why else self._index(found.image)
            found = (
                _resolve(index, found.image, found.prefix, found.relative, request.query_string)
                if index
                else StaticFile(
                    found.image,
                    found.prefix,
                    found.relative,
                    unavailable=why or f"the copy of {found.image} is not readable",
                )
            )
        if found.unavailable:
            return _answer(
                503,
                "The static files of this workspace's image are not available at the edge. "
                "An operator can run 'enclave images build' and see the edge's log.",
            )
        if found.path is None:
            return _answer(404, f"{found.route} is not among the static files of this workspace's image.")
        return web.FileResponse(
            found.path,
            headers={"Content-Type": found.content_type, "Cache-Control": found.cache_control, EDGE_MARKER: MARKER},
        )


def _resolve(index: CopyIndex, tag: str, prefix: tuple[str, ...], relative: tuple[str, ...], query: str) -> StaticFile:
    path = index.find(prefix, relative)
    if path is None:
        return StaticFile(tag, prefix, relative)
    versioned = any(key == "v" for key, _ in parse_qsl(query, keep_blank_values=True))
    return StaticFile(
        tag,
        prefix,
        relative,
        path=path,
        content_type=content_type(relative[-1]),
        cache_control=VERSIONED_CACHE if versioned else UNVERSIONED_CACHE,
    )


def _answer(status: int, message: str, **headers: str) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"message": message, "reason": "static"}),
        content_type="application/json",
        headers={EDGE_MARKER: MARKER, **headers},
    )
