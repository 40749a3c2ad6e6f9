"""EnclaveAuthenticator: NativeAuthenticator with the enclave's accounts and roles.

NativeAuthenticator (a maintained JupyterHub authenticator) supplies bcrypt
password hashes, lockout after repeated failures and TOTP second factors; its
own web pages are not used (see get_handlers). Its failed-login counts lived in
the hub's memory; here they and the TOTP codes already used are in the state
database (state/login_guard.py), so a hub restart forgives nothing, every hub
process sees the same lock, and a code is accepted once. A second factor is
required of every account unless the installation relaxes it for a demo
(settings.require_second_factor). TOTP secrets are stored sealed (state/totp_secrets.py), opened here with
the installation's key (atrest/totp_seal.py) to check a code.
Here its accounts table lives in the enclave's state database, where the
operator CLI creates accounts (sign-up is off), and every login is checked
against the account's status and written to the audit log. A user's enclave
roles become hub groups, which hub roles map to least-privilege scopes.
"""

from __future__ import annotations

import time

import onetimepass
from nativeauthenticator import NativeAuthenticator
from tornado import web
from traitlets import Bool, Integer, default

from ..atrest.totp_seal import TotpSeal
from ..settings import EnclaveSettings
from ..state import audit, totp_secrets
from ..state.db import open_state_db
from ..state.login_guard import LoginGuard
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

    @property
    def guard(self) -> LoginGuard:
        return LoginGuard(self.state)

    @property
    def second_factor_required(self) -> bool:
        return EnclaveSettings(parent=self).require_second_factor

    # NativeAuthenticator's counting, kept in the state database instead of the hub's memory.
    def is_blocked(self, username: str) -> bool:
        return self.guard.locked(username, self.allowed_failed_logins, self.seconds_before_next_try)

    def add_login_attempt(self, username: str) -> None:
        self.guard.failed(username)

    def successful_login(self, username: str) -> None:
        self.guard.succeeded(username)

    @default("db")
    def _enclave_db(self):
        # NativeAuthenticator keeps its accounts table where `db` points: the enclave state.
        return self.state.session()

    def _audit(self, username: str, outcome: str, ip: str, reason: str = "") -> None:
        details = {"ip": ip, **({"reason": reason} if reason else {})}
        with self.state.transaction() as session:
            audit.record(
                session, actor=username or "-", action="login", target=username or "-", outcome=outcome, details=details
            )

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
            name, has_2fa, secret = self._check_password_and_code(username, data)
            if name and not has_2fa and self.second_factor_required:
                self._audit(username, "refused", ip, "no second factor enrolled")
                raise web.HTTPError(
                    403,
                    "Your account has no second factor yet, and this enclave requires one. "
                    "Ask an operator to enrol it ('enclave user enable-totp').",
                )
            if name and has_2fa and not self._first_use_of_code(name, secret, data.get("2fa", "")):
                self.add_login_attempt(name)
                self._audit(username, "refused", ip, "TOTP code used already")
                raise web.HTTPError(403, "That code was used already: wait for the next one and log in again.")
            model = self._model(name) if name else None
            if model is None:
                self._audit(username, "refused", ip, "wrong credentials or inactive account")
                return None
            self._audit(username, "ok", ip)
            return model
        finally:
            # Never keep a read transaction open: accounts change under the hub's feet.
            self.db.close()

    def _check_password_and_code(self, username: str, data: dict) -> tuple[str | None, bool, str]:
        """NativeAuthenticator's check of the password and the current TOTP code, with the account's secret
        opened from its sealed copy (state/totp_secrets.py); (the name if both are right, has_2fa, the secret)."""
        account = self.get_user(username)
        if account is None:
            return None, False, ""
        has_2fa = bool(account.has_2fa)
        valid = bool(account.is_authorized) and account.is_valid_password(data.get("password", ""))
        self.db.close()
        secret = self._totp_secret(username) if has_2fa else ""
        if has_2fa:  # an enrolled account without a sealed secret can never pass: fail closed
            valid = valid and bool(secret) and onetimepass.valid_totp(data.get("2fa", ""), secret)
        if not valid:
            self.add_login_attempt(username)
            return None, has_2fa, ""
        self.successful_login(username)
        return username, has_2fa, secret

    def _totp_secret(self, username: str) -> str:
        with self.state.reading() as session:
            sealed = totp_secrets.sealed_secret(session, username)
        return TotpSeal(EnclaveSettings(parent=self).hub_dir).open(sealed) if sealed else ""

    def _first_use_of_code(self, name: str, secret: str, code: str) -> bool:
        """The code just accepted (its step, now or a moment ago) had not been used before."""
        now = int(time.time())
        for clock in (now, now - 30):
            if onetimepass.valid_totp(code, secret, clock=clock):
                return self.guard.use_totp_step(name, clock // 30)
        return False

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
