"""Patches: the apt suites images upgrade from come from this machine's apt sources, and an image's content tag
covers the package versions it resolved, so a refreshed image with newer packages is a new tag (and so is every
image below it), while unchanged versions keep the tag."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from enclave.images import catalog, patches

REAL_IMAGES = Path(catalog.__file__).resolve().parents[2] / "images"


@pytest.fixture
def images_dir(tmp_path, monkeypatch):
    copy = tmp_path / "images"
    shutil.copytree(
        REAL_IMAGES, copy, ignore=shutil.ignore_patterns("__pycache__", patches.RESOLVED)
    )  # no machine's records
    monkeypatch.setattr(catalog, "IMAGES_DIR", copy)
    monkeypatch.delenv("ENCLAVE_BASE_IMAGE", raising=False)
    return copy


def _tags() -> dict[str, str]:
    return {kind: catalog.image_tag(kind) for kind in catalog.KINDS}


def test_newer_resolved_packages_retag_the_image_and_those_below_it(images_dir):
    before = _tags()
    (images_dir / "workspace" / patches.RESOLVED).write_text("openssl=3.0.15-1~deb12u1\npip:jupyterhub==6.1.1\n")
    recorded = _tags()
    assert recorded["workspace"] != before["workspace"] and recorded["genomics"] != before["genomics"]

    (images_dir / "workspace" / patches.RESOLVED).write_text("openssl=3.0.15-1~deb12u1\npip:jupyterhub==6.1.1\n")
    assert _tags() == recorded  # the same versions: the same tag, nothing to rebuild

    (images_dir / "workspace" / patches.RESOLVED).write_text("openssl=3.0.17-1~deb12u2\npip:jupyterhub==6.1.1\n")
    refreshed = _tags()
    assert refreshed["workspace"] != recorded["workspace"] and refreshed["genomics"] != recorded["genomics"]


def test_a_refreshed_child_leaves_its_parent_tag_alone(images_dir):
    before = _tags()
    (images_dir / "genomics" / patches.RESOLVED).write_text("openjdk-17-jre-headless=17.0.16+8-1~deb12u1\n")
    after = _tags()
    assert after["workspace"] == before["workspace"] and after["genomics"] != before["genomics"]


def test_the_apt_suites_are_this_machines_bookworm_ones_and_no_mirror_is_written_in(tmp_path, monkeypatch):
    monkeypatch.delenv("ENCLAVE_APT_SOURCES", raising=False)
    sources = tmp_path / "etc" / "apt" / "sources.list.d"
    sources.mkdir(parents=True)
    (sources / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb deb-src\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main contrib\n\n"
        "Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n"
    )
    (sources / "backports.list").write_text("deb http://mirror.example/debian bookworm-backports main\n")
    (tmp_path / "etc" / "apt" / "sources.list").write_text(
        "# a comment\ndeb http://mirror.example/debian bookworm main\n"
    )
    assert patches.apt_sources(tmp_path).split("|") == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://mirror.example/debian bookworm-updates main",
        "deb http://mirror.example/debian-security bookworm-security main contrib",
    ]

    chosen = tmp_path / "operator.list"
    chosen.write_text("deb http://local.example/debian-security bookworm-security main\n")
    monkeypatch.setenv("ENCLAVE_APT_SOURCES", str(chosen))
    assert patches.apt_sources(tmp_path) == "deb http://local.example/debian-security bookworm-security main"
    for dockerfile in (REAL_IMAGES / "workspace" / "Dockerfile", REAL_IMAGES / "hub" / "Dockerfile"):
        assert "mirror" not in dockerfile.read_text() and "deb.debian.org" not in dockerfile.read_text()


def test_images_build_refresh_gives_every_kind_one_stamp_and_a_plain_build_none(monkeypatch):
    from enclave.cli.main import main
    from enclave.images import build

    calls = []
    monkeypatch.setattr(build, "build_image", lambda kind, refresh=None: calls.append((kind, refresh)))
    assert main(["images", "build", "--kind", "hub", "--kind", "workspace", "--refresh"]) == 0
    (first, stamp), (second, same) = calls
    assert (first, second) == ("workspace", "hub") and stamp and stamp == same  # the hub last (build_order)
    calls.clear()
    assert main(["images", "build", "--kind", "workspace"]) == 0
    assert calls == [("workspace", None)]


def test_the_hub_is_built_last_since_it_carries_every_images_resolved_versions(images_dir, monkeypatch):
    from enclave.images.build import build_order

    monkeypatch.setattr(catalog, "REPO", images_dir.parent)  # the hub's copy of images/ is this copy
    hub = catalog.image_tag("hub")
    (images_dir / "packages" / patches.RESOLVED).write_text("pip:pypiserver==2.4.2\n")
    assert catalog.image_tag("hub") != hub  # a record written after the hub's build leaves it stale
    order = build_order(catalog.KINDS)
    assert order[-1] == "hub" and sorted(order) == sorted(catalog.KINDS)
