"""JupyterHub's configuration of an installation, as a pure function of its settings.

`hub_config/jupyterhub_config.py` merges `hub_config(...)` into the hub's
configuration; everything the hub needs to know about the enclave is decided
here, from EnclaveSettings and the secrets made before the hub started
(startup.py). Nothing here writes a file or changes the process: that
happens at start-up (enclave.runtime, and the configuration file itself for
the hub's handlers).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from traitlets.config import Config

from ..airlock.service import CUSTOM_SCOPES, airlock_service
from ..settings import EnclaveSettings
from .culling import culler_role, culler_service
from .home import projects_for
from .startup import HubSecrets

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPO_NODE_BIN = Path(__file__).resolve().parents[2] / ".cache" / "node" / "node_modules" / ".bin"

AIRLOCK = "access:services!service=egress-review"


def roles() -> list[dict]:
    """Least privilege: nobody but the analyst reaches an analyst's server."""
    return [
        {"name": "user", "description": "Every account: its own servers only.", "scopes": ["self"]},
        {"name": "enclave-analyst", "groups": ["analyst"], "scopes": ["custom:egress:request", AIRLOCK]},
        {"name": "enclave-reviewer", "groups": ["reviewer"], "scopes": ["custom:egress:review", AIRLOCK]},
        {
            "name": "enclave-operator",
            "groups": ["operator"],
            "scopes": ["custom:egress:operate", AIRLOCK, "list:users", "read:users", "read:servers", "read:groups"],
        },
        {
            "name": "enclave-operator-service",
            # 'servers' (start/stop) is the narrowest scope that can stop a server; no access:servers.
            "description": "The operator CLI: sees and stops workspaces, never opens them.",
            "services": ["enclave-operator"],
            "scopes": ["list:users", "read:users", "read:servers", "servers", "delete:servers"],
        },
    ]


def proxy_command() -> list[str]:
    found = shutil.which("configurable-http-proxy") or shutil.which("configurable-http-proxy", path=str(REPO_NODE_BIN))
    if not found:
        raise RuntimeError("configurable-http-proxy is not installed: run 'make install' (npm install).")
    return [found]


def hub_config(settings: EnclaveSettings, secrets: HubSecrets, proxy: list[str]) -> Config:
    """The hub's configuration for `settings`; `proxy` is the configurable-http-proxy command (proxy_command())."""
    hub_dir = settings.hub_dir
    c = Config()
    c.JupyterHub.authenticator_class = "enclave"
    c.JupyterHub.spawner_class = settings.spawner  # "enclave", or "enclave-swarm" in swarm mode
    c.JupyterHub.allow_named_servers = True
    # Land on the project list: there is no default (project-less) workspace to spawn.
    c.JupyterHub.default_url = "/hub/home"
    c.JupyterHub.named_server_limit_per_user = 0
    c.JupyterHub.db_url = settings.hub_database_url
    c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
    # The hub's proxy listens on loopback only: the edge (enclave/edge, `enclave edge serve`) is the
    # public entrance, on public_ip:public_port over HTTPS, and says who the client is (X-Forwarded-*).
    c.JupyterHub.ip = "127.0.0.1"
    c.JupyterHub.port = settings.proxy_port
    # Cookies only over HTTPS: the browser only ever reaches the hub through the edge.
    c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}
    # The hub's own API listens on loopback only: services (the airlock) and the operator CLI use it there.
    # Workspaces reach it only through the hub gate (enclave/hubgate) on their network's gateway, at
    # settings.hub_port (the spawner sets hub_connect_url per project), which passes only the calls a
    # Jupyter server needs.
    c.JupyterHub.hub_bind_url = settings.hub_internal_url
    # A hub restart (an upgrade, a crash) leaves workspaces and their kernels running: the new hub finds them
    # and routes to them again. `make down` removes the containers when everything is to stop.
    c.JupyterHub.cleanup_servers = False

    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.auth_token = secrets.proxy_token
    # The edge sets X-Forwarded-For/-Proto/-Host itself; the proxy must pass them on, not append its own.
    c.ConfigurableHTTPProxy.command = [*proxy, "--no-x-forward"]
    c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "proxy.pid")

    c.JupyterHub.template_paths = [str(TEMPLATES)]
    c.JupyterHub.template_vars = {"enclave_projects": projects_for(settings)}
    c.JupyterHub.custom_scopes = CUSTOM_SCOPES
    c.JupyterHub.load_roles = roles()
    c.JupyterHub.services = [
        {"name": "enclave-operator", "api_token": secrets.operator_token},
        airlock_service(settings),
    ]
    culler = culler_service(settings)
    if culler is not None:
        c.JupyterHub.services.append(culler)
        c.JupyterHub.load_roles.append(culler_role())

    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 90
    c.Spawner.default_url = "/lab"
    return c
