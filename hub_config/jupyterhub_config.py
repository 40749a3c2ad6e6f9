# JupyterHub configuration of an enclave installation.
#
# The installation's settings are traits of enclave.settings.EnclaveSettings,
# read from ENCLAVE_* environment variables or set here, for example:
#   c.EnclaveSettings.state_dir = "/var/lib/enclave"
#   c.EnclaveSettings.workspace_mem_limit = "8G"
# For an institution's OIDC login instead of enclave accounts, see
# docs/operators.md ("Single sign-on with OIDC").
from enclave.hub.config import apply

apply(c)  # noqa: F821 (c is provided by JupyterHub)
