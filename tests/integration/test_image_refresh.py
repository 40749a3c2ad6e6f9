"""`enclave images build --refresh` on a real engine, with image kinds this test defines (the real workspace takes
minutes to build on two cores, too slow to build twice here): built FROM the real local base image by the real
build code, their packages listed inside them, tagged by content and resolved versions.

The `moving` kind stands for an image whose packages move on between builds: its fake `pip` reports a version
taken from the REFRESH build argument, as a real `pip install` or `apt-get upgrade` resolves today's versions. The
`steady` kind resolves the same versions however often it is refreshed. (The real Dockerfiles' upgrade from
bookworm-security is built by every run that builds the workspace image: tests/integration/test_hardening.py and
the others use it.)"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest

from enclave.images import build, catalog, patches

REAL_IMAGES = Path(catalog.__file__).resolve().parents[2] / "images"
MOVING = """ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG APT_SOURCES=""
ARG REFRESH=""
RUN mkdir -p /opt/venv/bin && printf '#!/bin/sh\\necho "moving==%s"\\n' "${REFRESH:-1}" > /opt/venv/bin/pip \\
    && chmod 0755 /opt/venv/bin/pip
"""
STEADY = """ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG APT_SOURCES=""
ARG REFRESH=""
RUN echo "refresh ${REFRESH:-none}" > /etc/built-at
"""
CHILD = """ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN echo child > /etc/child
"""


@pytest.fixture
def kinds(docker_client, tmp_path, monkeypatch):
    """Three kinds in a copy of the images folder: moving, steady, and a child of moving; their images removed after."""
    images = tmp_path / "images"
    shutil.copytree(REAL_IMAGES / "base", images / "base")  # the same base tag: the local base image
    suffix = secrets.token_hex(3)
    names = {"moving": f"moving{suffix}", "steady": f"steady{suffix}", "child": f"child{suffix}"}
    for role, dockerfile in (("moving", MOVING), ("steady", STEADY), ("child", CHILD)):
        (images / names[role]).mkdir()
        (images / names[role] / "Dockerfile").write_text(dockerfile)
    monkeypatch.setattr(catalog, "IMAGES_DIR", images)
    monkeypatch.delenv("ENCLAVE_BASE_IMAGE", raising=False)
    monkeypatch.setitem(catalog.PARENTS, names["moving"], None)
    monkeypatch.setitem(catalog.PARENTS, names["steady"], None)
    monkeypatch.setitem(catalog.PARENTS, names["child"], names["moving"])
    try:
        docker_client.images.get(catalog.base_image())
    except Exception:  # noqa: BLE001
        pytest.fail(f"The base image {catalog.base_image()} is not there: run 'make images'.", pytrace=False)
    try:
        yield names
    finally:
        for name in (names["child"], names["steady"], names["moving"]):  # children before their parents
            for image in docker_client.images.list(f"enclave-{name}"):
                docker_client.images.remove(image.id, force=True)


def _build(kind: str, refresh: str | None = None) -> tuple[str, list[str]]:
    said: list[str] = []
    return build.build_image(kind, say=said.append, refresh=refresh), said


def test_a_refresh_with_newer_packages_is_a_new_tag_and_unchanged_content_is_never_rebuilt(kinds, docker_client):
    moving, child = kinds["moving"], kinds["child"]
    first, said = _build(child)  # its parent first
    parent_first = catalog.image_tag(moving)
    assert first == catalog.image_tag(child) and any(line.startswith("Built") for line in said)
    resolved = (catalog.IMAGES_DIR / moving / patches.RESOLVED).read_text()
    assert "pip:moving==1" in resolved and "base-files=" in resolved  # pip's and dpkg's versions, from inside
    ids = {image.id for image in docker_client.images.list(filters={"label": f"enclave.kind={moving}"})}

    again, said = _build(child)
    assert again == first and said == [f"{first} is up to date."]  # nothing built

    stamp = patches.refresh_stamp()
    refreshed, said = _build(child, refresh=stamp)
    parent_now = catalog.image_tag(moving)
    assert parent_now != parent_first and refreshed != first  # newer packages: new tags down the chain
    assert f"pip:moving=={stamp}" in (catalog.IMAGES_DIR / moving / patches.RESOLVED).read_text()
    assert docker_client.images.get(refreshed).attrs["Config"]["Labels"]["enclave.kind"] == child
    docker_client.images.get(parent_first)  # the old image stays for workspaces still running on it
    assert {image.id for image in docker_client.images.list(filters={"label": f"enclave.kind={moving}"})} > ids

    assert _build(child)[0] == refreshed  # and a plain build after it finds the refreshed tag


def test_a_refresh_that_resolves_the_same_versions_keeps_the_tag_and_leaves_no_image_behind(kinds, docker_client):
    steady = kinds["steady"]
    tag, _ = _build(steady)
    before = docker_client.images.list(filters={"label": f"enclave.kind={steady}"})
    again, said = _build(steady, refresh=patches.refresh_stamp())
    assert again == tag
    assert said[-1] == f"{tag} is up to date: the build resolved the same packages as the image already tagged."
    assert docker_client.images.list(filters={"label": f"enclave.kind={steady}"}) == before
