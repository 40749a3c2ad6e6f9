"""Running the airlock (egress_review) as a hub-managed service of this installation."""

from __future__ import annotations

import os
import sys

from egress_review.hub_service import hub_service_definition

from ..settings import EnclaveSettings
from ..state.audit_anchor import COPY_VARIABLE

DIRECTORY_CLASS = "enclave.state.directory.EnclaveProjectDirectory"
AUDIT_SINK_CLASS = "enclave.audit_forwarding.EnclaveAuditSink"


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
    definition["command"] = [*definition["command"], f"--EgressReview.project_directory_class={DIRECTORY_CLASS}",
                             f"--EgressReview.audit_sink_class={AUDIT_SINK_CLASS}"]
    if os.environ.get(COPY_VARIABLE):
        definition["environment"][COPY_VARIABLE] = os.environ[COPY_VARIABLE]  # the audit anchor's second copy
    return definition
