"""How JupyterHub runs the airlock: the ``c.JupyterHub.services`` entry and
the custom scopes. The operator's hub config does::

    from egress_review.hub_service import hub_service_definition, CUSTOM_SCOPES
    c.JupyterHub.services.append(hub_service_definition(port=10101))
    c.JupyterHub.custom_scopes.update(CUSTOM_SCOPES)

and grants the scopes through roles (analysts: custom:egress:request,
reviewers: custom:egress:review, operators: custom:egress:operate).
"""

from __future__ import annotations

import sys

from .config import SERVICE_NAME
from .domain.permissions import Scope

CUSTOM_SCOPES: dict[str, dict[str, str]] = {
    Scope.REQUEST.value: {"description": "Request the release of result files through the airlock."},
    Scope.REVIEW.value: {"description": "Review airlock requests of other people and vote on them."},
    Scope.OPERATE.value: {"description": "Operate the airlock: revoke releases, override blocking checks."},
}


def hub_service_definition(
    port: int,
    *,
    name: str = SERVICE_NAME,
    host: str = "127.0.0.1",
    python: str | None = None,
    data_dir: str | None = None,
    config_file: str | None = None,
    environment: dict[str, str] | None = None,
    managed: bool = True,
) -> dict:
    """The ``c.JupyterHub.services`` entry for the airlock.

    The service gets no ``roles``: its own hub token can identify users who
    log in to it and nothing else; in particular it has no access to
    analysts' servers. Tokens issued to browsers for this service carry only
    the egress custom scopes (``oauth_client_allowed_scopes``), which the
    service checks itself.
    """
    if not (0 < port < 65536):
        raise ValueError(f"port must be 1-65535, not {port}")
    definition: dict = {
        "name": name,
        "url": f"http://{host}:{port}",
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": sorted(CUSTOM_SCOPES),
        "display": True,
        "info": {"description": "The airlock: request, review and download result files."},
    }
    if managed:
        command = [python or sys.executable, "-m", "egress_review"]
        if config_file:
            command += ["--config", config_file]
        definition["command"] = command
        env = dict(environment or {})
        if data_dir:
            env["EGRESS_REVIEW_DATA_DIR"] = data_dir
        if env:
            definition["environment"] = env
    return definition


__all__ = ["CUSTOM_SCOPES", "hub_service_definition"]
