"""Building the operator context the CLI commands act through."""

from __future__ import annotations

import getpass
import os

from ..hub.workspaces import HubWorkspaces
from ..operations.base import OperatorContext
from ..settings import EnclaveSettings
from ..state.db import open_state_db


def actor_name() -> str:
    """Who is acting: $ENCLAVE_ACTOR when set (e.g. an operator's name), else the OS account."""
    return os.environ.get("ENCLAVE_ACTOR") or f"os:{getpass.getuser()}"


def operator_context(settings: EnclaveSettings | None = None) -> OperatorContext:
    settings = settings or EnclaveSettings()
    settings.prepare_state_dir()
    db = open_state_db(settings.database_url)
    return OperatorContext(settings=settings, db=db, actor=actor_name(), workspaces=HubWorkspaces(settings))
