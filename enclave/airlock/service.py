"""Running the airlock (egress_review) as a hub-managed service of this installation."""

from __future__ import annotations

import os
import sys

from egress_review.integration import CUSTOM_SCOPES, hub_service_definition

from ..notify import airlock_environment
from ..settings import EnclaveSettings
from ..state.audit_anchor import COPY_VARIABLE

# The enclave's implementations of the airlock's protocols, loaded by name in the airlock's process.
DIRECTORY_CLASS = "enclave.airlock.directory.EnclaveProjectDirectory"
AUDIT_SINK_CLASS = "enclave.airlock.forwarding.EnclaveAuditSink"

__all__ = ["AUDIT_SINK_CLASS", "CUSTOM_SCOPES", "DIRECTORY_CLASS", "airlock_data_dir", "airlock_service"]


def airlock_data_dir(settings: EnclaveSettings):
    """Where the hub's airlock service keeps its data."""
    return settings.state_path / "airlock"


def airlock_service(settings: EnclaveSettings) -> dict:
    definition = hub_service_definition(
        port=settings.egress_port,
        python=sys.executable,
        data_dir=str(airlock_data_dir(settings)),
        # JupyterHub passes services no other environment: name the installation explicitly.
        environment={
            "ENCLAVE_STATE_DIR": settings.state_dir,
            "ENCLAVE_DB_URL": settings.database_url,
            "ENCLAVE_INSTANCE": settings.instance,
            **airlock_environment(settings),  # its notifications: SMTP, webhook, the public address
        },
        project_directory=DIRECTORY_CLASS,
        audit_sink=AUDIT_SINK_CLASS,
    )
    if os.environ.get(COPY_VARIABLE):
        definition["environment"][COPY_VARIABLE] = os.environ[COPY_VARIABLE]  # the audit anchor's second copy
    return definition
