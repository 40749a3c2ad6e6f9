"""Failed logins and used TOTP codes live in the state database: shared by every hub process, kept across
restarts; a second factor is required unless the installation relaxes it."""

from __future__ import annotations

import asyncio

import pytest
from nativeauthenticator.orm import UserInfo
from sqlalchemy import select
from tornado import web

from enclave.atrest.totp_seal import TotpSeal
from enclave.auth.authenticator import EnclaveAuthenticator
from enclave.cli.main import main
from enclave.errors import InvalidState
from enclave.operations import people
from enclave.state import totp_secrets
from tests.support.totp import fresh_totp, secret_from_uri


@pytest.fixture
def account(ctx, monkeypatch):
    monkeypatch.setenv("ENCLAVE_STATE_DIR", ctx.settings.state_dir)
    monkeypatch.setenv("ENCLAVE_REQUIRE_SECOND_FACTOR", "false")
    return people.add_user(ctx, "alice", ["analyst"])


def log_in(auth: EnclaveAuthenticator, password: str, code: str = ""):
    return asyncio.run(auth.authenticate(None, {"username": "alice", "password": password, "2fa": code}))


def test_a_lock_made_by_one_hub_binds_another_and_a_restarted_one_until_unlocked(account, ctx, capsys):
    first = EnclaveAuthenticator()
    for _ in range(5):
        assert log_in(first, "wrong") is None
    second = EnclaveAuthenticator()  # another hub process, or the same hub after a restart
    with pytest.raises(web.HTTPError, match="Too many failed logins"):
        log_in(second, account.initial_password)

    assert main(["user", "unlock", "alice"]) == 0
    assert "5 failed login(s) in a row forgiven" in capsys.readouterr().out
    assert log_in(EnclaveAuthenticator(), account.initial_password)["name"] == "alice"
    assert log_in(first, account.initial_password)["name"] == "alice"  # the first hub sees the unlock too


def test_a_success_resets_the_count(account):
    auth = EnclaveAuthenticator()
    for _ in range(4):
        assert log_in(auth, "wrong") is None
    assert log_in(auth, account.initial_password)["name"] == "alice"
    for _ in range(4):
        assert log_in(auth, "wrong") is None
    assert log_in(auth, account.initial_password)["name"] == "alice"  # four in a row again: not locked


def test_a_totp_code_is_accepted_once_by_any_hub(account, ctx):
    secret = secret_from_uri(people.enable_totp(ctx, "alice"))
    code = fresh_totp(secret)
    assert log_in(EnclaveAuthenticator(), account.initial_password, code)["name"] == "alice"
    with pytest.raises(web.HTTPError, match="used already"):
        log_in(EnclaveAuthenticator(), account.initial_password, code)


def test_a_totp_secret_is_stored_sealed_and_a_code_still_logs_in(account, ctx):
    secret = secret_from_uri(people.enable_totp(ctx, "alice"))
    with ctx.db.reading() as session:
        info = session.execute(select(UserInfo).where(UserInfo.username == "alice")).scalar_one()
        plain_column, sealed = info.otp_secret, totp_secrets.sealed_secret(session, "alice")
    assert plain_column is None and sealed and secret not in sealed
    assert TotpSeal(ctx.settings.hub_dir).open(sealed) == secret  # only the installation's key opens it
    assert oct((ctx.settings.hub_dir / "totp-seal-key").stat().st_mode & 0o777) == "0o600"
    assert log_in(EnclaveAuthenticator(), account.initial_password, "000000") is None
    assert log_in(EnclaveAuthenticator(), account.initial_password, fresh_totp(secret))["name"] == "alice"


def test_a_sealed_secret_another_key_cannot_open_is_refused_not_accepted(account, ctx, tmp_path):
    secret = secret_from_uri(people.enable_totp(ctx, "alice"))
    with ctx.db.transaction() as session:
        totp_secrets.keep_sealed(session, "alice", TotpSeal(tmp_path / "another").seal(secret))
    with pytest.raises(InvalidState, match="does not open with the key"):
        log_in(EnclaveAuthenticator(), account.initial_password, fresh_totp(secret))


def test_a_second_factor_is_required_by_default_and_enrolled_with_the_account(ctx, monkeypatch, capsys):
    monkeypatch.setenv("ENCLAVE_STATE_DIR", ctx.settings.state_dir)
    monkeypatch.delenv("ENCLAVE_REQUIRE_SECOND_FACTOR")
    monkeypatch.setattr(ctx.settings, "require_second_factor", True)
    without = people.add_user(ctx, "bob", ["analyst"])
    assert without.totp_uri.startswith("otpauth://totp/enclave:bob?secret=")
    people.disable_totp(ctx, "bob")  # e.g. a lost phone: now the account has none
    auth = EnclaveAuthenticator()
    assert auth.second_factor_required
    with pytest.raises(web.HTTPError, match="no second factor yet"):
        asyncio.run(auth.authenticate(None, {"username": "bob", "password": without.initial_password}))

    assert main(["user", "add", "carol", "--role", "analyst"]) == 0
    out = capsys.readouterr().out
    assert "Second factor (shown once" in out and "otpauth://totp/enclave:carol?secret=" in out
