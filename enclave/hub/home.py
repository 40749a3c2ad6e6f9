"""What the hub's home page shows a person: the projects they may open a workspace for."""

from __future__ import annotations

from ..settings import EnclaveSettings
from ..state.db import open_state_db
from ..state.models import AccountStatus
from ..state.queries import active_projects_of, find_user


def projects_for(settings: EnclaveSettings):
    """A template variable: called by the hub with the signed-in user on each page."""

    def lookup(user) -> list[dict]:
        if user is None:
            return []
        with open_state_db(settings.database_url).reading() as session:
            account = find_user(session, user.name)
            if account is None or account.status is not AccountStatus.ACTIVE:
                return []
            return [
                {"name": p.name, "title": p.title, "status": p.status.value}
                for p in active_projects_of(session, account)
            ]

    return lookup
