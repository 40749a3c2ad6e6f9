"""Running the airlock (egress_review) as a hub-managed service of this installation."""

from __future__ import annotations

import os
import sys

from egress_review.hub_service import hub_service_definition

from ..settings import EnclaveSettings

DIRECTORY_CLASS = "enclave.state.directory.EnclaveProjectDirectory"
# What the service must know of the installation; JupyterHub passes services no other environment.
_FORWARDED = ("ENCLAVE_STATE_DIR", "ENCLAVE_DB_URL", "ENCLAVE_INSTANCE")


def airlock_service(settings: EnclaveSettings) -> dict:
    definition = hub_service_definition(
        port=settings.egress_port,
        python=sys.executable,
        data_dir=str(settings.state_path / "airlock"),
        environment={
            **{k: os.environ[k] for k in _FORWARDED if k in os.environ},
            "ENCLAVE_STATE_DIR": settings.state_dir,
            "ENCLAVE_DB_URL": settings.database_url,
        },
    )
    definition["command"] = [*definition["command"], f"--EgressReview.project_directory_class={DIRECTORY_CLASS}"]
    return definition
