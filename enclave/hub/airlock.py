"""Running the airlock (egress_review) as a hub-managed service of this installation."""

from __future__ import annotations

import sys

from egress_review.hub_service import hub_service_definition

from ..settings import EnclaveSettings

DIRECTORY_CLASS = "enclave.state.directory.EnclaveProjectDirectory"


def airlock_service(settings: EnclaveSettings) -> dict:
    definition = hub_service_definition(
        port=settings.egress_port,
        python=sys.executable,
        data_dir=str(settings.state_path / "airlock"),
        # JupyterHub passes services no other environment: name the installation explicitly.
        environment={
            "ENCLAVE_STATE_DIR": settings.state_dir,
            "ENCLAVE_DB_URL": settings.database_url,
            "ENCLAVE_INSTANCE": settings.instance,
        },
    )
    definition["command"] = [*definition["command"], f"--EgressReview.project_directory_class={DIRECTORY_CLASS}"]
    return definition
