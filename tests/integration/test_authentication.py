"""Logging in through the real hub: hashed passwords, lockout, TOTP, audit."""

from nativeauthenticator.orm import UserInfo
from sqlalchemy import select

from enclave.operations import people
from enclave.state.login_guard import LoginRecord
from enclave.state.models import AuditEvent
from tests.support.hub import HubUser
from tests.support.totp import fresh_totp, secret_from_uri


def test_passwords_are_stored_only_as_bcrypt_hashes(enclave):
    with enclave.ctx.db.transaction() as session:
        info = session.execute(select(UserInfo).where(UserInfo.username == "alice")).scalar_one()
    assert info.password.startswith(b"$2b$")
    assert enclave.passwords["alice"].encode() not in info.password


def test_wrong_password_is_refused_and_audited(enclave):
    user = HubUser(enclave.url, "carol", "not-the-password")
    assert not user.logged_in
    with enclave.ctx.db.transaction() as session:
        refused = (
            session.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "login", AuditEvent.actor == "carol", AuditEvent.outcome == "refused"
                )
            )
            .scalars()
            .all()
        )
    assert refused


def test_repeated_failures_lock_the_account_even_for_the_right_password(enclave):
    for _ in range(5):
        assert not HubUser(enclave.url, "lockme", "wrong-password").logged_in
    locked = HubUser(enclave.url, "lockme", enclave.passwords["lockme"])
    assert not locked.logged_in
    assert "Too many failed logins" in locked.login_response.text
    # The count is in the state database, not the hub's memory: a restarted hub, or another, keeps the lock.
    with enclave.ctx.db.reading() as session:
        assert session.get(LoginRecord, "lockme").failures >= 5
    assert people.unlock_user(enclave.ctx, "lockme") >= 5  # an operator's `enclave user unlock`
    assert HubUser(enclave.url, "lockme", enclave.passwords["lockme"]).logged_in


def test_totp_second_factor_is_required_once_enabled(enclave):
    uri = people.enable_totp(enclave.ctx, "tina")
    secret = secret_from_uri(uri)
    assert not HubUser(enclave.url, "tina", enclave.passwords["tina"]).logged_in
    assert not HubUser(enclave.url, "tina", enclave.passwords["tina"], otp="000000").logged_in
    code = fresh_totp(secret)
    assert HubUser(enclave.url, "tina", enclave.passwords["tina"], otp=code).logged_in
    replayed = HubUser(enclave.url, "tina", enclave.passwords["tina"], otp=code)  # a code is good once
    assert not replayed.logged_in and "used already" in replayed.login_response.text


def test_removed_users_cannot_log_in(enclave):
    account = people.add_user(enclave.ctx, "leaver", ["analyst"])
    assert HubUser(enclave.url, "leaver", account.initial_password).logged_in
    people.remove_user(enclave.ctx, "leaver")
    assert not HubUser(enclave.url, "leaver", account.initial_password).logged_in


def test_signup_is_closed(enclave):
    import requests

    assert requests.get(f"{enclave.url}/hub/signup", timeout=30).status_code == 404
