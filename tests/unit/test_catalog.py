"""Image tags: content hashes along the chain base -> workspace -> genomics or r."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from enclave.errors import InvalidInput
from enclave.images import catalog
from enclave.operations import projects
from enclave.operations.projects import IMAGES

REAL_IMAGES = Path(catalog.__file__).resolve().parents[2] / "images"


@pytest.fixture
def images_dir(tmp_path, monkeypatch):
    """A copy of the real image contexts that a test may change."""
    copy = tmp_path / "images"
    shutil.copytree(REAL_IMAGES, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(catalog, "IMAGES_DIR", copy)
    monkeypatch.delenv("ENCLAVE_BASE_IMAGE", raising=False)
    return copy


def test_every_kind_has_a_build_context_and_parents_come_first():
    for kind in catalog.KINDS:
        assert (REAL_IMAGES / kind / "Dockerfile").is_file(), kind
        parent = catalog.spec(kind).parent
        assert parent is None or catalog.KINDS.index(parent) < catalog.KINDS.index(kind)


def test_genomics_is_built_from_the_workspace_image():
    assert catalog.spec("genomics").parent == "workspace"
    assert catalog.lineage("genomics") == ["workspace", "genomics"]
    assert catalog.parent_image("genomics") == catalog.image_tag("workspace")
    assert catalog.parent_image("workspace") == catalog.base_image()


def test_operators_can_choose_every_image_kind():
    assert set(IMAGES) == set(catalog.WORKSPACE_KINDS)


def test_a_project_gets_the_r_image_and_an_unknown_kind_is_refused_with_the_choices(ctx):
    assert projects.create_project(ctx, "stats", image="r").image == "r"
    with pytest.raises(InvalidInput, match="Unknown image 'rstudio': choose one of workspace, genomics, r."):
        projects.create_project(ctx, "other", image="rstudio")


def test_a_change_in_the_workspace_context_retags_workspace_and_genomics(images_dir):
    before = {kind: catalog.image_tag(kind) for kind in catalog.KINDS}
    (images_dir / "workspace" / "requirements.txt").write_text("jupyterhub==6.1.1\nnumpy==2.4.6\n")
    after = {kind: catalog.image_tag(kind) for kind in catalog.KINDS}
    assert after["workspace"] != before["workspace"]
    assert after["genomics"] != before["genomics"]


def test_a_change_in_the_genomics_context_leaves_the_workspace_tag_alone(images_dir):
    workspace, genomics = catalog.image_tag("workspace"), catalog.image_tag("genomics")
    (images_dir / "genomics" / "spark-conf" / "spark-defaults.conf").write_text("spark.driver.memory 3g\n")
    assert catalog.image_tag("workspace") == workspace
    assert catalog.image_tag("genomics") != genomics


def test_a_different_base_image_retags_the_whole_chain(images_dir, monkeypatch):
    before = {kind: catalog.image_tag(kind) for kind in catalog.KINDS}
    monkeypatch.setenv("ENCLAVE_BASE_IMAGE", "python:3.11-slim-bookworm")
    assert catalog.parent_image("workspace") == "python:3.11-slim-bookworm"
    assert all(catalog.image_tag(kind) != before[kind] for kind in catalog.KINDS)


def test_tags_are_stable_and_name_their_repository(images_dir):
    assert catalog.image_tag("genomics") == catalog.image_tag("genomics")
    assert catalog.image_tag("genomics").startswith("enclave-genomics:")


def test_an_unknown_kind_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="known images: workspace, genomics"):
        catalog.spec("rstudio")


def test_r_is_a_workspace_kind_built_from_the_workspace_image():
    assert "r" in catalog.WORKSPACE_KINDS
    assert catalog.lineage("r") == ["workspace", "r"]
    assert catalog.parent_image("r") == catalog.image_tag("workspace")
    # It stages its files as the genomics image does, with the same script (hashed into its tag).
    assert catalog.spec("r").sources == (catalog.REPO / "images" / "genomics" / "build" / "list-files.sh",)


def test_an_added_r_package_retags_the_r_image_alone(images_dir):
    before = {kind: catalog.image_tag(kind) for kind in catalog.WORKSPACE_KINDS}
    packages = images_dir / "r" / "packages.txt"
    packages.write_text(packages.read_text() + "r-cran-glmnet\n")
    after = {kind: catalog.image_tag(kind) for kind in catalog.WORKSPACE_KINDS}
    assert after["r"] != before["r"]
    assert {k: v for k, v in after.items() if k != "r"} == {k: v for k, v in before.items() if k != "r"}


def test_the_build_ca_is_used_in_build_stages_only():
    """A TLS-intercepting proxy's CA (build-ca.crt) never reaches an image's final stage (after its last FROM)."""
    for kind in catalog.KINDS:
        dockerfile = (REAL_IMAGES / kind / "Dockerfile").read_text()
        assert dockerfile.count("\nFROM ") >= 2, f"{kind}: the CA needs a build stage of its own"
        assert "build-ca" not in dockerfile.rsplit("\nFROM ", 1)[1], kind
