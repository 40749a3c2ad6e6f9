"""The `r` image in a real workspace: JupyterLab offers R beside Python, and R reads the project's extract.

ruth's workspace (tests/support/workspaces.py: ruth_r) runs the `r` image in a project with the cohort
approved; R code runs in a real R kernel (IRkernel) started through the hub, as JupyterLab starts it.
Its confinement is tested with the Python workspace's (test_hardening.py, security/test_cis_docker.py,
security/test_server_subversion.py, security/test_edge_static.py).
"""

from __future__ import annotations

import polars as pl
import pytest
import requests

from enclave.extracts.store import extract_folder
from tests.support.workspaces import R_PROJECT


@pytest.fixture(scope="module")
def r_kernel(ruth_r):
    kernel = ruth_r.open_kernel("ir")
    yield kernel
    kernel.close()


def test_jupyterlab_offers_the_r_kernel_beside_pythons(ruth_r):
    reply = requests.get(
        f"{ruth_r.user.server_url(ruth_r.project)}/api/kernelspecs",
        headers={"Authorization": f"token {ruth_r.token}"},
        timeout=60,
    )
    reply.raise_for_status()
    specs = reply.json()["kernelspecs"]
    assert set(specs) == {"python3", "ir"}
    assert specs["ir"]["spec"]["display_name"] == "R" and specs["ir"]["spec"]["language"] == "R"
    assert specs["ir"]["resources"]["logo-64x64"].endswith("/kernelspecs/ir/logo-64x64.png")


def test_r_reads_the_extract_exactly_with_read_parquet(enclave, r_kernel):
    """enclave::read_parquet: every row, the pseudonyms exact (64-bit), dates as dates, nulls as NA."""
    out = r_kernel.run(
        "library(enclave)\n"
        'p <- read_parquet("/data/cohort/v1/participants.parquet")\n'
        'b <- read_parquet("/data/cohort/v1/baseline.parquet", columns = c("participant_id", "hba1c"))\n'
        'cat(nrow(p), class(p$participant_id)[1], class(p$recruitment_date)[1], names(b), sum(is.na(b$hba1c)), "\\n")\n'
        'cat(as.character(sort(p$participant_id)), sep = "\\n")\n'
    )
    summary, *ids = out.strip().splitlines()
    extract = extract_folder(enclave.settings, R_PROJECT, "cohort", "v1")
    participants = pl.read_parquet(extract / "participants.parquet")
    missing = pl.read_parquet(extract / "baseline.parquet")["hba1c"].null_count()
    assert missing > 0, "the test needs a column with nulls"
    assert summary.split() == [str(participants.height), "integer64", "IDate", "participant_id", "hba1c", str(missing)]
    assert ids == [str(i) for i in participants["participant_id"].sort()]


def test_read_parquet_says_what_is_wrong(r_kernel):
    outcome = r_kernel.execute('enclave::read_parquet("/data/cohort/v1/baseline.parquet", columns = "eid")')
    assert outcome.error is not None
    assert "has no column eid; its columns are: participant_id," in outcome.error
    # The CSV went to scratch and is gone: nothing of the extract is left behind in /tmp.
    left = r_kernel.run('cat(length(list.files(tempdir(), pattern = "[.]csv$")), "\\n")')
    assert left.strip() == "0"


# Run as root in the image: any file named like the build's CA, any apt setting naming a CA file, R's libraries.
# Each printed line ends in a newline (the engine's log can drop a last line that has none).
LOOK_FOR_THE_CA = (
    "find / -xdev -name 'build-ca*'; grep -rl CAInfo /etc/apt || true; Rscript -e 'writeLines(.libPaths())'"
)


def test_the_image_holds_no_build_ca_and_r_libraries_are_the_images(docker_client, r_image):
    """The build's CA bundle (build-ca.crt) was used by apt in the build stage only: no file of the image
    has it, and apt is configured for no extra CA."""
    found = docker_client.containers.run(
        r_image,
        ["sh", "-c", LOOK_FOR_THE_CA],
        user="0",
        network_disabled=True,
        remove=True,
    ).decode()
    assert found.split() == ["/usr/local/lib/R/site-library", "/usr/lib/R/site-library", "/usr/lib/R/library"]
