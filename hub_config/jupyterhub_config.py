# JupyterHub configuration of an enclave installation.
#
# The installation's settings are traits of enclave.settings.EnclaveSettings,
# read from ENCLAVE_* environment variables or set here, for example:
#   c.EnclaveSettings.state_dir = "/var/lib/enclave"
#   c.EnclaveSettings.workspace_mem_limit = "8G"
# For an institution's OIDC login instead of enclave accounts, see
# docs/operators.md ("Single sign-on with OIDC").
# Start the hub with `enclave up` (make up): it prepares the state folder and secrets read here.
from enclave.hub.config import hub_config, proxy_command
from enclave.hub.recipient import install as name_recipients
from enclave.hub.startup import read_hub_secrets
from enclave.settings import EnclaveSettings

settings = EnclaveSettings(config=c)  # noqa: F821 (c is provided by JupyterHub)
name_recipients()  # this hub's answers name the person they go to, whom the edge counts them against
c.merge(hub_config(settings, read_hub_secrets(settings.hub_dir), proxy_command()))  # noqa: F821
