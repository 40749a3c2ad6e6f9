"""The `r` image's package list, and the R examples' packages: every R package an example uses is in the image.

Reads files only. The image itself is tested in a real workspace (tests/integration/test_r_workspace.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "images" / "r" / "packages.txt"
OWN = ROOT / "images" / "r" / "enclave-r"  # the image's own R package, `enclave`
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*_r.ipynb"))
# R's own packages, in r-base-core.
BASE = {
    "base",
    "stats",
    "utils",
    "graphics",
    "grDevices",
    "methods",
    "datasets",
    "tools",
    "parallel",
    "grid",
    "splines",
}


def debian_packages() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in PACKAGES.read_text().splitlines())
    return [line for line in lines if line]


def r_packages_used(code: str) -> set[str]:
    return set(re.findall(r"\blibrary\(([A-Za-z][A-Za-z0-9.]*)\)", code)) | set(
        re.findall(r"\b([A-Za-z][A-Za-z0-9.]*)::", code)
    )


def test_the_list_names_debian_packages_with_r_and_its_kernel():
    names = debian_packages()
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", n) for n in names), names
    assert len(names) == len(set(names))
    assert {"r-base-core", "r-cran-irkernel", "r-cran-data.table", "r-cran-bit64"} <= set(names)


def test_the_images_own_package_is_called_enclave_and_exports_read_parquet():
    assert re.search(r"^Package: enclave$", (OWN / "DESCRIPTION").read_text(), re.M)
    assert "export(read_parquet)" in (OWN / "NAMESPACE").read_text()


def test_every_package_an_r_example_uses_is_in_the_image():
    assert EXAMPLES, "no R example in docs/examples"
    installed = {n.removeprefix("r-cran-") for n in debian_packages() if n.startswith("r-cran-")} | {"enclave"}
    for path in EXAMPLES:
        notebook = json.loads(path.read_text())
        assert notebook["metadata"]["kernelspec"]["name"] == "ir", path.name
        code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
        missing = {p for p in r_packages_used(code) - BASE if p.lower() not in installed}
        assert not missing, f"{path.name} uses {sorted(missing)}: add r-cran-<name> to {PACKAGES.name}"
