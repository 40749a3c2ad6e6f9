"""The import contracts in pyproject.toml hold: the real `lint-imports` run over the tree.

The airlock (egress_review) imports nothing of the enclave, and only enclave.airlock imports the airlock,
through its one published module egress_review.integration (the seam, docs/architecture.md).
"""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

SEAM_CONTRACTS = (
    "The airlock stands alone: egress_review imports nothing of enclave",
    "The one seam: only enclave.airlock imports the airlock, and only egress_review.integration",
    # The rooms of enclave (docs/architecture.md): layers that point one way; the demo cohort kept apart.
    "The rooms of enclave point one way: each imports only rooms below it (docs/architecture.md)",
    "The synthetic demo cohort is only for the demo: no other room imports enclave.cohort",
)


def test_every_import_contract_is_kept():
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for contract in SEAM_CONTRACTS:
        assert f"{contract} KEPT" in result.stdout
