"""The key TOTP secrets are sealed with (Fernet: AES-128-CBC with HMAC-SHA256), one of the installation's secret
files: <state_dir>/hub/totp-seal-key (0600, made once), read by the operator tools that enrol a second factor and
by the hub's authenticator that checks codes. It is not in the state database, so the database alone (a dump, a
PostgreSQL server's disk) yields no secret; on the encrypted volume with the rest of the state folder, and copied
by 'enclave backup' with it (a backup holds the installation's keys: keep it as the state folder is kept).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ..errors import InvalidState
from ..secret_files import read_or_create

KEY_FILE = "totp-seal-key"


class TotpSeal:
    def __init__(self, hub_dir: Path):
        self.path = Path(hub_dir) / KEY_FILE
        self._fernet = Fernet(read_or_create(self.path, Fernet.generate_key).strip())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise InvalidState(
                f"A TOTP secret does not open with the key {self.path}: the key was replaced or the database comes "
                "from another installation. Restore the key with the database it belongs to (enclave restore), or "
                "enrol the account again ('enclave user enable-totp')."
            ) from None
