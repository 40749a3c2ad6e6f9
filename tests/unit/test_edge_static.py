"""The edge's own static files: which addresses are static, which file each gets, and what is never served.

A copy is laid out here as `enclave images build` makes it (each image folder at its path in the image,
enclave/images/static_copy.py); the real extraction from a real image is tested in
tests/integration/security/test_edge_static.py, JupyterLab loading from it in Chromium in
tests/browser/security/test_edge_static.py. Responses are checked through a small aiohttp app on 127.0.0.1
that answers static addresses the way the edge's proxy does.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import tarfile
from pathlib import Path, PurePosixPath

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from docker.errors import ImageNotFound

from enclave.edge.paths import canonical
from enclave.edge.static import MARKER, ProjectImages, StaticAssets, content_type, static_route
from enclave.images import static_copy
from enclave.images.catalog import image_tag
from enclave.images.static_copy import (
    KERNELS,
    LAB_STATIC,
    LAB_THEMES,
    LABEXTENSIONS,
    MANIFEST,
    SERVER_STATIC,
    StaticCopyError,
    copy_folder,
)
from enclave.operations import projects

TAG = "enclave-workspace:0123456789ab"
USER_DATA_LABEXT, VENV_LABEXT = LABEXTENSIONS[0], LABEXTENSIONS[1]


def put(copy: Path, image_path: str, data: bytes = b"x") -> Path:
    path = copy / image_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_copy(root: Path, tag: str = TAG) -> Path:
    """A copy shaped like the real one: JupyterLab's bundle, the server's files, an extension, themes, a kernel."""
    copy = copy_folder(root, tag)
    put(copy, f"{LAB_STATIC}/main.abc.js", b"lab bundle")
    put(copy, f"{LAB_STATIC}/fonts/a.woff2", b"font")
    put(copy, f"{SERVER_STATIC}/favicons/favicon.ico", b"icon")
    put(copy, f"{SERVER_STATIC}/lab/only-in-server-static.js", b"never under static/lab")
    put(copy, f"{VENV_LABEXT}/@jupyterhub/jupyter-server-proxy/static/remoteEntry.1.js", b"proxy ext")
    put(copy, f"{VENV_LABEXT}/jupyterlab_pygments/static/style.js", b"venv pygments")
    put(copy, f"{USER_DATA_LABEXT}/jupyterlab_pygments/static/style.js", b"user-data pygments wins")
    put(copy, f"{VENV_LABEXT}/dark-ext/themes/dark-ext/index.css", b"extension theme")
    put(copy, f"{LAB_THEMES}/@jupyterlab/theme-light-extension/index.css", b"light theme")
    put(copy, f"{LAB_THEMES}/dark-ext/index.css", b"shadowed by the extension's")
    put(copy, f"{KERNELS[1]}/python3/kernel.json", b"{}")
    put(copy, f"{KERNELS[1]}/python3/logo-64x64.png", b"\x89PNG logo")
    put(copy, f"{KERNELS[1]}/nospec/logo-64x64.png", b"a folder without kernel.json is no kernel")
    (copy / MANIFEST).write_text(json.dumps({"tag": tag}))
    return copy


@pytest.fixture
def copies(tmp_path):
    root = tmp_path / "static"
    make_copy(root)
    return root


@pytest.fixture
def assets(copies):
    return StaticAssets(copies, lambda user, server: TAG if server == "alpha" else None)


def found_bytes(assets, rest: str, query: str = "") -> bytes | None:
    found = assets.lookup("alice", "alpha", tuple(rest.split("/")), query)
    assert found is not None, f"{rest} should be a static address"
    return found.path.read_bytes() if found.path else None


# --- which addresses are static ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rest",
    [
        "static/lab/main.abc.js",
        "static/favicons/favicon.ico",
        "static",
        "lab/extensions/x/static/remoteEntry.js",
        "lab/api/themes/a/index.css",
        "kernelspecs/python3/logo-64x64.png",
        "custom/custom.css",
    ],
)
def test_static_addresses_are_recognised(rest):
    assert static_route(tuple(rest.split("/"))) is not None


@pytest.mark.parametrize(
    "rest",
    [
        "lab",
        "lab/tree/x",
        "api/contents/static",
        "api/kernelspecs",
        "lab/api/settings",
        "lab/api/extensions",
        "files/static/x",
        "Static/lab/main.abc.js",
        "spark-ui/static/app.js",
        "lab/workspaces/auto-a",
    ],
)
def test_other_addresses_are_not_static(assets, rest):
    assert static_route(tuple(rest.split("/"))) is None
    assert assets.lookup("alice", "alpha", tuple(rest.split("/"))) is None


def test_each_route_is_served_from_its_own_image_folder(assets):
    assert found_bytes(assets, "static/lab/main.abc.js") == b"lab bundle"
    assert found_bytes(assets, "static/favicons/favicon.ico") == b"icon"
    assert (
        found_bytes(assets, "lab/extensions/@jupyterhub/jupyter-server-proxy/static/remoteEntry.1.js") == b"proxy ext"
    )
    assert found_bytes(assets, "lab/api/themes/@jupyterlab/theme-light-extension/index.css") == b"light theme"
    assert found_bytes(assets, "kernelspecs/python3/logo-64x64.png") == b"\x89PNG logo"


def test_search_order_matches_the_servers(assets):
    # static/lab/ is JupyterLab's folder alone: a miss is a miss, not a look in the server's static/.
    assert found_bytes(assets, "static/lab/only-in-server-static.js") is None
    # jupyter_path order: the first data folder with the file wins; extensions' themes before JupyterLab's.
    assert found_bytes(assets, "lab/extensions/jupyterlab_pygments/static/style.js") == b"user-data pygments wins"
    assert found_bytes(assets, "lab/api/themes/dark-ext/index.css") == b"extension theme"
    # Kernel names are lower-case, as KernelSpecManager finds them; a folder without kernel.json is no kernel.
    assert found_bytes(assets, "kernelspecs/Python3/logo-64x64.png") == b"\x89PNG logo"
    assert found_bytes(assets, "kernelspecs/nospec/logo-64x64.png") is None


def test_missing_files_folders_and_unknown_servers_are_not_found(assets):
    for rest in (
        "static/lab/nothing.js",
        "static/lab",
        "static",
        "static/favicons",
        "kernelspecs",
        "kernelspecs/python3",
        "kernelspecs/r/logo-64x64.png",
        "custom/custom.css",
    ):
        found = assets.lookup("alice", "alpha", tuple(rest.split("/")))
        assert found is not None and found.path is None and found.ready, rest
    unknown = assets.lookup("alice", "no-such-project", ("static", "lab", "main.abc.js"))
    assert unknown is not None and unknown.path is None and unknown.image is None


def test_traversal_cannot_reach_outside_the_copy(assets, copies, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("cohort")
    copy = copy_folder(copies, TAG)
    (copy / LAB_STATIC.lstrip("/") / "link.js").symlink_to(secret)
    (copy / LAB_STATIC.lstrip("/") / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    fresh = StaticAssets(copies, lambda user, server: TAG)  # indexes the copy with the links in it
    for rest in (
        ("static", "lab", "link.js"),
        ("static", "lab", "linked-folder", "secret.txt"),
        ("static", "lab", "..", "..", "secret.txt"),
        ("static", "lab", "/etc/passwd"),
        ("static", "lab", str(secret)),
    ):
        found = fresh.lookup("alice", "alpha", rest)
        assert found is not None and found.path is None, rest


def test_the_query_is_not_part_of_the_lookup(assets):
    plain = assets.lookup("alice", "alpha", ("static", "lab", "main.abc.js"))
    versioned = assets.lookup("alice", "alpha", ("static", "lab", "main.abc.js"), "v=abc&token=x")
    assert plain.path == versioned.path and plain.path is not None
    assert versioned.cache_control == "max-age=31536000" and plain.cache_control == "no-cache"


def test_content_types():
    assert content_type("main.abc.js") == "text/javascript"
    assert content_type("index.css") == "text/css"
    assert content_type("a.woff2") == "font/woff2"
    assert content_type("logo-64x64.png") == "image/png"
    assert content_type("logo-svg.svg") == "image/svg+xml"
    assert content_type("no-suffix") == "application/octet-stream"


def test_a_projects_image_is_its_kinds_content_tag(ctx):
    projects.create_project(ctx, "plain")
    projects.create_project(ctx, "gen", image="genomics")
    projects.create_project(ctx, "stats", image="r")
    images = ProjectImages(ctx.db)
    assert images("alice", "plain") == image_tag("workspace")
    assert images("alice", "gen") == image_tag("genomics")
    assert images("alice", "stats") == image_tag("r")
    assert images("alice", "missing") is None


# --- the answers -------------------------------------------------------------------------------------------


def edge_like_app(assets: StaticAssets) -> web.Application:
    """Answers /user/<u>/<s>/<static address> as the edge's proxy does; anything else would go upstream."""

    async def handle(request):
        path = canonical(request.raw_path.partition("?")[0])
        user, server, rest = path.segments[1], path.segments[2], path.segments[3:]
        found = assets.lookup(user, server, rest, request.query_string)
        if found is None:
            return web.Response(status=299, text="would go to the workspace")
        return await assets.response_for(found, request)

    app = web.Application()
    app.router.add_route("*", "/{anything:.*}", handle)
    return app


def serve(assets, scenario):
    async def run():
        async with TestClient(TestServer(edge_like_app(assets), host="127.0.0.1")) as client:
            await scenario(client)

    asyncio.run(run())


def test_a_static_file_is_answered_by_the_edge(assets):
    async def scenario(client):
        reply = await client.get("/user/alice/alpha/static/lab/main.abc.js?v=abc")
        assert reply.status == 200 and await reply.read() == b"lab bundle"
        assert reply.headers["X-Enclave-Edge"] == MARKER
        assert reply.headers["Content-Type"].startswith("text/javascript")
        assert reply.headers["Cache-Control"] == "max-age=31536000"
        again = await client.get(
            "/user/alice/alpha/static/lab/main.abc.js", headers={"If-None-Match": reply.headers["ETag"]}
        )
        assert again.status == 304
        head = await client.head("/user/alice/alpha/kernelspecs/python3/logo-64x64.png")
        assert head.status == 200 and head.headers["Content-Type"] == "image/png"

    serve(assets, scenario)


def test_not_found_and_other_methods_are_answered_by_the_edge_too(assets):
    async def scenario(client):
        for path in (
            "/user/alice/alpha/static/lab/nothing.js",
            "/user/alice/other/static/lab/main.abc.js",
            "/user/alice/alpha/custom/custom.css",
        ):
            reply = await client.get(path)
            assert reply.status == 404 and reply.headers["X-Enclave-Edge"] == MARKER, path
            assert "not among the static files" in (await reply.json())["message"]
        posted = await client.post("/user/alice/alpha/static/lab/main.abc.js", data=b"x")
        assert posted.status == 405 and posted.headers["Allow"] == "GET, HEAD"
        assert (await client.get("/user/alice/alpha/api/contents")).status == 299

    serve(assets, scenario)


def test_a_missing_copy_is_made_once_then_served(tmp_path):
    root, made = tmp_path / "static", []

    def make(cache_dir, tag):
        made.append(tag)
        return make_copy(cache_dir, tag)

    assets = StaticAssets(root, lambda user, server: TAG, make_copy=make)
    assert assets.lookup("alice", "alpha", ("static", "lab", "main.abc.js")).ready is False

    async def scenario(client):
        replies = await asyncio.gather(*(client.get("/user/alice/alpha/static/lab/main.abc.js") for _ in range(5)))
        assert [r.status for r in replies] == [200] * 5
        assert made == [TAG]

    serve(assets, scenario)


def test_a_copy_that_cannot_be_made_is_503_and_logged_never_forwarded(tmp_path, caplog):
    def cannot(cache_dir, tag):
        raise StaticCopyError(f"The image {tag} is not on this machine")

    assets = StaticAssets(tmp_path / "static", lambda user, server: TAG, make_copy=cannot)

    async def scenario(client):
        for _ in range(3):
            reply = await client.get("/user/alice/alpha/static/lab/main.abc.js")
            assert reply.status == 503 and reply.headers["X-Enclave-Edge"] == MARKER
            assert "enclave images build" in (await reply.json())["message"]

    with caplog.at_level(logging.ERROR, logger="enclave.edge.static"):
        serve(assets, scenario)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and TAG in errors[0] and "not on this machine" in errors[0]


# --- the copy ----------------------------------------------------------------------------------------------


def tar_of(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    buffer.seek(0)
    return buffer


def member(name: str, kind=tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_only_regular_files_inside_the_folder_are_copied(tmp_path):
    archive = tar_of(
        [
            (member("static", tarfile.DIRTYPE), None),
            (member("static/main.js"), b"bundle"),
            (member("static/same.js", tarfile.LNKTYPE, "static/main.js"), None),
            (member("static/link.js", tarfile.SYMTYPE, "/etc/passwd"), None),
            (member("static/../escape.js"), b"no"),
            (member("/abs.js"), b"no"),
            (member("other/x.js"), b"no"),
            (member("static/fifo", tarfile.FIFOTYPE), None),
            (member("static/outside-link.js", tarfile.LNKTYPE, "elsewhere/file"), None),
        ]
    )
    skipped = static_copy._extract_regular_files(archive, PurePosixPath("/opt/x/static"), tmp_path)
    folder = tmp_path / "opt/x/static"
    assert sorted(p.name for p in folder.iterdir()) == ["main.js", "same.js"]
    assert (folder / "same.js").read_bytes() == b"bundle" and not (folder / "same.js").is_symlink()
    assert skipped == 6
    assert not (tmp_path / "opt/x/escape.js").exists() and not (tmp_path / "abs.js").exists()


def test_copy_folders_are_named_by_tag(tmp_path):
    assert copy_folder(tmp_path, "enclave-workspace:abc") == tmp_path / "enclave-workspace" / "abc"
    for bad in ("no-tag", "repo:..", "repo:a/b", ":x"):
        with pytest.raises(StaticCopyError):
            copy_folder(tmp_path, bad)


def test_a_copy_is_put_in_place_whole(tmp_path):
    target = copy_folder(tmp_path, TAG)
    old = make_copy(tmp_path)
    staging = tmp_path / "staging"
    put(staging, "/new.txt", b"new")
    (staging / MANIFEST).write_text("{}")
    static_copy._put_in_place(staging, old)
    assert (target / "new.txt").read_bytes() == b"new" and not (target / LAB_STATIC.lstrip("/")).exists()
    assert [p.name for p in target.parent.iterdir()] == [target.name]


class Images:
    """The Docker client's image lookup, for the images `present` only."""

    def __init__(self, present: set[str]):
        self.present = present
        self.images = self

    def get(self, tag: str):
        if tag not in self.present:
            raise ImageNotFound(tag)
        return tag


def test_copies_of_images_no_longer_on_the_machine_are_removed(tmp_path):
    kept, gone = "enclave-workspace:aaaaaaaaaaaa", "enclave-workspace:bbbbbbbbbbbb"
    for tag in (kept, gone):
        make_copy(tmp_path, tag)
    staging = tmp_path / "enclave-workspace" / ".cccccccccccc-123"  # another build's copy in the making
    staging.mkdir()
    assert static_copy.prune(tmp_path, Images({kept}), "enclave-workspace") == [gone]
    assert copy_folder(tmp_path, kept).is_dir() and not copy_folder(tmp_path, gone).exists() and staging.is_dir()


def test_a_build_fails_when_the_images_static_files_cannot_be_copied(tmp_path, monkeypatch):
    from enclave.images import build

    def layout_changed(root, tag, client):
        raise StaticCopyError(f"The image {tag} has no {LAB_STATIC}")

    monkeypatch.setattr(build, "ensure_copy", layout_changed)
    said = []
    build._copy_static_files(Images(set()), "hub", "enclave-hub:x", said.append, tmp_path)  # not a workspace image
    with pytest.raises(build.ImageBuildError, match=f"Copying the static files of {TAG}.*{LAB_STATIC}"):
        build._copy_static_files(Images({TAG}), "workspace", TAG, said.append, tmp_path)
    assert said == []
