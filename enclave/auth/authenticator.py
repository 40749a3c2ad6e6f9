"""EnclaveAuthenticator: NativeAuthenticator with the enclave's accounts and roles.

NativeAuthenticator (a maintained JupyterHub authenticator) supplies bcrypt
password hashes, lockout after repeated failures and TOTP second factors; its
own web pages are not used (see get_handlers).
Here its accounts table lives in the enclave's state database, where the
operator CLI creates accounts (sign-up is off), and every login is checked
against the account's status and written to the audit log. A user's enclave
roles become hub groups, which hub roles map to least-privilege scopes.
"""

from __future__ import annotations

from nativeauthenticator import NativeAuthenticator
from tornado import web
from traitlets import Bool, Integer, default

from ..settings import EnclaveSettings
from ..state import audit
from ..state.db import open_state_db
from ..state.models import AccountStatus
from ..state.queries import find_user


class EnclaveAuthenticator(NativeAuthenticator):
    enable_signup = Bool(False, config=True, help="Accounts are created by operators; sign-up is off.")
    allow_2fa = Bool(True, config=True, help="Offer the TOTP field at login (required for accounts that have it).")
    allowed_failed_logins = Integer(
        5, config=True, help="Failed logins in a row before an account is locked for seconds_before_next_try."
    )
    seconds_before_next_try = Integer(600, config=True, help="Lockout duration in seconds. Default 600.")

    @default("manage_groups")
    def _default_manage_groups(self) -> bool:
        return True

    @default("refresh_pre_spawn")
    def _default_refresh_pre_spawn(self) -> bool:
        return True

    @default("auth_refresh_age")
    def _default_auth_refresh_age(self) -> int:
        return 60  # role changes, removals and suspensions reach the hub within a minute

    @default("auth_refresh_strict")
    def _default_auth_refresh_strict(self) -> bool:
        # refresh_user is False only for accounts suspended, removed or gone. Without strict,
        # JupyterHub 6.1 keeps serving their API tokens (and admin spawns for them) on stale auth.
        return True

    @property
    def state(self):
        if not hasattr(self, "_state"):
            self._state = open_state_db(EnclaveSettings(parent=self).database_url)
        return self._state

    @default("db")
    def _enclave_db(self):
        # NativeAuthenticator keeps its accounts table where `db` points: the enclave state.
        return self.state.session()

    def _audit(self, username: str, outcome: str, ip: str, reason: str = "") -> None:
        details = {"ip": ip, **({"reason": reason} if reason else {})}
        with self.state.transaction() as session:
            audit.record(session, actor=username or "-", action="login", target=username or "-", outcome=outcome,
                         details=details)

    def _model(self, username: str) -> dict | None:
        """The hub's view of an active enclave account: its name and its roles as groups."""
        with self.state.reading() as session:
            user = find_user(session, username)
            if user is None or user.status is not AccountStatus.ACTIVE:
                return None
            return {"name": user.name, "groups": user.role_names}

    async def authenticate(self, handler, data):
        ip = handler.request.remote_ip if handler is not None else ""
        username = self.normalize_username(data.get("username", ""))
        try:
            if self.allowed_failed_logins and self.is_blocked(username):
                self._audit(username, "refused", ip, "locked after repeated failures")
                raise web.HTTPError(
                    403, f"Too many failed logins: try again in {self.seconds_before_next_try // 60} minutes."
                )
            name = await super().authenticate(handler, data)
            self.db.close()
            model = self._model(name) if name else None
            if model is None:
                self._audit(username, "refused", ip, "wrong credentials or inactive account")
                return None
            self._audit(username, "ok", ip)
            return model
        finally:
            # Never keep a read transaction open: accounts change under the hub's feet.
            self.db.close()

    def get_handlers(self, app):
        # NativeAuthenticator 1.3's own pages (login, sign-up, self-approval) do not run on
        # JupyterHub 6: the hub's LoginHandler serves login, with the TOTP field added by
        # enclave/hub/templates/login.html. Operators reset passwords with the CLI.
        return []

    def check_allowed(self, username, authentication=None) -> bool:
        return self._model(username) is not None

    async def refresh_user(self, user, handler=None):
        """Log out removed and suspended accounts (tokens too: auth_refresh_strict) and keep groups in step."""
        model = self._model(user.name)
        if model is None and handler is not None and not hasattr(handler, "_token_authenticated"):
            # JupyterHub 6.1.1 reads this attribute, set only on token logins, when a refresh fails; without
            # it a cookie session's spawn of a refused account ends in a 500 instead of the intended 403.
            handler._token_authenticated = False
        return model or False
