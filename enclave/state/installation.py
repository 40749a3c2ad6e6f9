"""The installation's id: a random name its database is given once, which every anchor line carries.

An anchor file can receive lines from another database (a test run pointed at the wrong state
folder, two installations sharing one WORM copy). Naming the database on each line lets
`enclave audit verify` set those aside as "another installation's" instead of calling them edits.
"""

from __future__ import annotations

import uuid

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base

_ROW = 1  # one row per database


class Installation(Base):
    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(primary_key=True)
    installation_id: Mapped[str] = mapped_column(String(36), nullable=False)


def installation_id(session: Session, *, create: bool = False) -> str | None:
    """This database's id; made (in the caller's transaction) when `create` and none exists yet."""
    found = session.execute(select(Installation.installation_id).where(Installation.id == _ROW)).scalar()
    if found is None and create:
        found = str(uuid.uuid4())
        session.add(Installation(id=_ROW, installation_id=found))
        session.flush()
    return found
