"""Failed logins and used TOTP codes, kept in the state database so they outlive a hub and bind every hub.

NativeAuthenticator keeps failed-login counts in the hub's memory: a hub restart forgave them, and two hub
processes counted apart. Here each account's row says how many logins failed in a row and when the last
did, and which TOTP time step was last accepted, so a code is good once.

    guard = LoginGuard(db)
    if guard.locked(name, allowed=5, lockout_seconds=600): refuse
    guard.failed(name) / guard.succeeded(name)       (enclave user unlock: operations/people.py)
    guard.use_totp_step(name, step)  # False: this code (or an older one) was used already
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow


class LoginRecord(Base):
    __tablename__ = "login_guard"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # in a row, since the last success
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_totp_step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class LoginGuard:
    def __init__(self, db, clock=utcnow):
        self.db = db  # a StateDB
        self.clock = clock

    def _row(self, session, name: str) -> LoginRecord:
        row = session.get(LoginRecord, name)
        if row is None:
            row = LoginRecord(username=name, failures=0, last_totp_step=0)
            session.add(row)
            session.flush()
        return row

    def locked(self, name: str, allowed: int, lockout_seconds: int) -> bool:
        """Has `name` failed `allowed` times in a row, the last less than `lockout_seconds` ago?"""
        with self.db.reading() as session:
            row = session.get(LoginRecord, name)
            if row is None or row.failures < allowed or row.last_failure_at is None:
                return False
            last = (
                row.last_failure_at
                if row.last_failure_at.tzinfo
                else row.last_failure_at.replace(tzinfo=self.clock().tzinfo)
            )
            return self.clock() - last < timedelta(seconds=lockout_seconds)

    def failed(self, name: str) -> int:
        """Count a failed login; the number in a row."""
        with self.db.transaction() as session:
            row = self._row(session, name)
            row.failures += 1
            row.last_failure_at = self.clock()
            return row.failures

    def succeeded(self, name: str) -> None:
        with self.db.transaction() as session:
            session.execute(update(LoginRecord).where(LoginRecord.username == name).values(failures=0))

    def use_totp_step(self, name: str, step: int) -> bool:
        """Accept a TOTP code of time step `step` once: True the first time, False for it or any older step.

        One conditional UPDATE, so two hub processes given the same code at once accept it once."""
        with self.db.transaction() as session:
            self._row(session, name)
            done = session.execute(
                update(LoginRecord)
                .where(LoginRecord.username == name, LoginRecord.last_totp_step < step)
                .values(last_totp_step=step)
            )
            return done.rowcount == 1

    def totp_step(self, name: str) -> int:
        with self.db.reading() as session:
            return session.execute(select(LoginRecord.last_totp_step).where(LoginRecord.username == name)).scalar() or 0
