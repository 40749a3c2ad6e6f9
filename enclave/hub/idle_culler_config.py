# jupyterhub-idle-culler's configuration in the enclave (enclave/hub/culling.py says why).
from enclave.hub.culling import arbiter

c = get_config()  # noqa: F821
c.IdleCuller.cull_arbiter_hook = arbiter
