"""Each account's TOTP secret, sealed: the database holds only ciphertext, never the base32 secret.

NativeAuthenticator keeps the secret in plain text in users_info.otp_secret (16 characters, too small for
ciphertext); the enclave leaves that column empty and keeps the sealed secret here. The key that seals and
opens it is not in the database: it is one of the installation's secret files (enclave/atrest/totp_seal.py),
so a copy of the database alone (a dump, a PostgreSQL server's disk) yields no second factor.
"""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class SealedTotpSecret(Base):
    __tablename__ = "totp_secrets"

    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text, nullable=False)  # a Fernet token (AES-128-CBC + HMAC-SHA256)


def sealed_secret(session, username: str) -> str | None:
    row = session.get(SealedTotpSecret, username)
    return row.sealed if row is not None else None


def keep_sealed(session, username: str, sealed: str) -> None:
    row = session.get(SealedTotpSecret, username)
    if row is None:
        session.add(SealedTotpSecret(username=username, sealed=sealed))
    else:
        row.sealed = sealed


def forget(session, username: str) -> None:
    row = session.get(SealedTotpSecret, username)
    if row is not None:
        session.delete(row)
