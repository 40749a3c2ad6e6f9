"""Accounts, roles and project membership."""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

import bcrypt
from nativeauthenticator.orm import UserInfo
from sqlalchemy import select

from ..atrest.totp_seal import TotpSeal
from ..errors import AlreadyExists, InvalidInput, InvalidState, NotFound
from ..state import totp_secrets
from ..state.models import AccountStatus, Membership, ProjectStatus, Role, RoleGrant, User, utcnow
from ..state.queries import active_membership, active_projects_of, get_project, get_user
from .base import OperatorContext
from .names import check_name


@dataclass(frozen=True)
class NewAccount:
    name: str
    roles: tuple[str, ...]
    initial_password: str  # shown once to the operator, stored only as a bcrypt hash
    totp_uri: str = ""  # the second factor enrolled with the account (settings.require_second_factor), shown once


def _parse_roles(roles: list[str] | tuple[str, ...]) -> list[Role]:
    if not roles:
        raise InvalidInput("Give the account at least one role: analyst, reviewer or operator.")
    parsed = []
    for role in roles:
        try:
            parsed.append(Role(role))
        except ValueError:
            raise InvalidInput(f"Unknown role {role!r}: choose analyst, reviewer or operator.") from None
    return sorted(set(parsed), key=lambda r: r.value)


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _new_otp_secret() -> str:
    return base64.b32encode(os.urandom(10)).decode()  # 16 characters: NativeAuthenticator's column size


def _hash(password: str) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt())


def add_user(ctx: OperatorContext, name: str, roles: list[str], email: str = "") -> NewAccount:
    password = secrets.token_urlsafe(15)

    def change(session):
        check_name("user", name)
        parsed = _parse_roles(roles)
        _check_email(email)
        if session.execute(select(User).where(User.name == name)).scalar_one_or_none():
            raise AlreadyExists(f"A user named {name!r} exists already.")
        if session.execute(select(UserInfo).where(UserInfo.username == name)).scalar_one_or_none():
            raise AlreadyExists(f"A login account named {name!r} exists already.")
        user = User(name=name, roles=[RoleGrant(role=r) for r in parsed])
        session.add(user)
        info = UserInfo(username=name, password=_hash(password), is_authorized=True, email=email or None)
        info.otp_secret = None  # NativeAuthenticator fills it in plain text; the enclave keeps secrets sealed
        session.add(info)
        return tuple(r.value for r in parsed)

    granted = ctx.audited("user.add", name, change, {"roles": sorted(roles), **({"email": email} if email else {})})
    totp_uri = enable_totp(ctx, name) if ctx.settings.require_second_factor else ""
    return NewAccount(name=name, roles=granted, initial_password=password, totp_uri=totp_uri)


def unlock_user(ctx: OperatorContext, name: str) -> int:
    """Lift a lockout after failed logins now, instead of when it runs out; the failures forgiven."""
    from ..state.login_guard import LoginRecord

    def change(session):
        get_user(session, name)
        record = session.get(LoginRecord, name)
        forgiven = record.failures if record is not None else 0
        if record is not None:
            record.failures = 0
        return forgiven

    return ctx.audited("user.unlock", name, change)


def remove_user(ctx: OperatorContext, name: str) -> list[str]:
    """Disable the account, end its memberships and stop its workspaces. The record stays."""

    def change(session):
        user = get_user(session, name)
        if user.status is AccountStatus.DISABLED:
            raise InvalidState(f"User {name!r} is already removed.")
        user.status = AccountStatus.DISABLED
        for membership in user.memberships:
            if membership.active:
                membership.removed_at = utcnow()
        info = session.execute(select(UserInfo).where(UserInfo.username == name)).scalar_one_or_none()
        if info is not None:
            info.is_authorized = False
        return [m.project.name for m in user.memberships]

    projects = ctx.audited("user.remove", name, change)
    stopped = []
    for project in sorted(set(projects)):
        stopped += ctx.workspaces.stop(project, name)
    return stopped


def list_users(ctx: OperatorContext) -> list[dict]:
    with ctx.db.transaction() as session:
        users = session.execute(select(User).order_by(User.name)).scalars()
        return [
            {
                "name": u.name,
                "status": u.status.value,
                "roles": u.role_names,
                "projects": [p.name for p in active_projects_of(session, u)],
            }
            for u in users
        ]


def grant_role(ctx: OperatorContext, name: str, role: str) -> list[str]:
    def change(session):
        user = get_user(session, name)
        (parsed,) = _parse_roles([role])
        if parsed.value in user.role_names:
            raise AlreadyExists(f"{name!r} already has the role {role}.")
        user.roles.append(RoleGrant(role=parsed))
        return user.role_names

    return ctx.audited("user.grant-role", name, change, {"role": role})


def revoke_role(ctx: OperatorContext, name: str, role: str) -> list[str]:
    def change(session):
        user = get_user(session, name)
        (parsed,) = _parse_roles([role])
        grants = [g for g in user.roles if g.role is parsed]
        if not grants:
            raise NotFound(f"{name!r} does not have the role {role}.")
        if len(user.roles) == 1:
            raise InvalidState(f"{role} is {name!r}'s only role; remove the user instead.")
        user.roles.remove(grants[0])
        return user.role_names

    return ctx.audited("user.revoke-role", name, change, {"role": role})


def set_email(ctx: OperatorContext, name: str, email: str) -> None:
    """Where the person's notifications go (egress_review.notify, enclave.notify); empty: nowhere."""

    def change(session):
        get_user(session, name)
        _check_email(email)
        info = session.execute(select(UserInfo).where(UserInfo.username == name)).scalar_one_or_none()
        if info is None:
            raise NotFound(f"{name!r} has no login account.")
        info.email = email or None

    ctx.audited("user.set-email", name, change, {"email": email})


def _check_email(email: str) -> None:
    if email and (len(email) > 254 or not _EMAIL_RE.match(email)):
        raise InvalidInput(f"{email!r} is not an email address: give one like name@example.org.")


def reset_password(ctx: OperatorContext, name: str) -> str:
    password = secrets.token_urlsafe(15)

    def change(session):
        get_user(session, name)
        info = session.execute(select(UserInfo).where(UserInfo.username == name)).scalar_one_or_none()
        if info is None:
            raise NotFound(f"{name!r} has no login account.")
        info.password = _hash(password)

    ctx.audited("user.reset-password", name, change)
    return password


def enable_totp(ctx: OperatorContext, name: str, issuer: str = "enclave") -> str:
    """Require a TOTP code at login; returns the otpauth:// URI to load into an authenticator app.

    The secret is stored sealed with the installation's key (enclave/atrest/totp_seal.py), never in plain text."""
    secret = _new_otp_secret()
    sealed = TotpSeal(ctx.settings.hub_dir).seal(secret)

    def change(session):
        get_user(session, name)
        info = session.execute(select(UserInfo).where(UserInfo.username == name)).scalar_one_or_none()
        if info is None:
            raise NotFound(f"{name!r} has no login account.")
        info.has_2fa = True
        info.otp_secret = None
        totp_secrets.keep_sealed(session, name, sealed)

    ctx.audited("user.enable-totp", name, change)
    return f"otpauth://totp/{quote(issuer)}:{quote(name)}?secret={secret}&issuer={quote(issuer)}"


def disable_totp(ctx: OperatorContext, name: str) -> None:
    """Stop requiring a second factor (e.g. a lost phone); the next enable issues a new secret."""

    def change(session):
        get_user(session, name)
        info = session.execute(select(UserInfo).where(UserInfo.username == name)).scalar_one_or_none()
        if info is None or not info.has_2fa:
            raise InvalidState(f"{name!r} does not use a second factor.")
        info.has_2fa = False
        totp_secrets.forget(session, name)  # the old secret is dead

    ctx.audited("user.disable-totp", name, change)


def add_member(ctx: OperatorContext, project: str, user: str) -> None:
    def change(session):
        p = get_project(session, project)
        u = get_user(session, user)
        if p.status is ProjectStatus.ARCHIVED:
            raise InvalidState(f"Project {project!r} is archived; it takes no new members.")
        if u.status is AccountStatus.SUSPENDED:
            raise InvalidState(f"User {user!r} is suspended; resume the account first ('enclave user resume').")
        if u.status is not AccountStatus.ACTIVE:
            raise InvalidState(f"User {user!r} is removed; add a new account instead.")
        if active_membership(session, p, u):
            raise AlreadyExists(f"{user!r} is already a member of {project!r}.")
        session.add(Membership(project=p, user=u))

    ctx.audited("member.add", f"{project}/{user}", change)
    _user_dirs(ctx, project, user)


def _user_dirs(ctx: OperatorContext, project: str, user: str) -> None:
    root = ctx.settings.projects_dir / project
    for folder in (root / "homes" / user, root / "outbox" / user):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, 1000, 1000)
        folder.chmod(0o700)


def remove_member(ctx: OperatorContext, project: str, user: str) -> list[str]:
    """End the membership, then stop the member's running workspace of that project."""

    def change(session):
        p = get_project(session, project)
        u = get_user(session, user)
        membership = active_membership(session, p, u)
        if membership is None:
            raise NotFound(f"{user!r} is not a member of {project!r}.")
        membership.removed_at = utcnow()

    ctx.audited("member.remove", f"{project}/{user}", change)
    return ctx.workspaces.stop(project, user)


def suspend_user(ctx: OperatorContext, name: str, reason: str, details: dict | None = None) -> list[str]:
    """Hold an account pending an operator's decision: no login, no spawn, and its workspaces stopped.

    The hub asks the authenticator again (refresh_user) at the latest every
    auth_refresh_age seconds and before every spawn, so a session that is
    already logged in loses access within that time; the edge refuses its
    data at once.
    """
    if not reason.strip():
        raise InvalidInput("Say why the account is suspended (--reason).")

    def change(session):
        user = get_user(session, name)
        if user.status is not AccountStatus.ACTIVE:
            raise InvalidState(f"User {name!r} is {user.status.value}; only an active account can be suspended.")
        user.status = AccountStatus.SUSPENDED
        return [p.name for p in active_projects_of(session, user)]

    projects = ctx.audited("person.suspended", name, change, {"reason": reason, **(details or {})})
    stopped = []
    for project in projects:
        stopped += ctx.workspaces.stop(project, name)
    return stopped


def resume_user(ctx: OperatorContext, name: str, reason: str = "") -> None:
    """Lift a suspension. Usage already counted today stays counted (see 'enclave egress-usage')."""

    def change(session):
        user = get_user(session, name)
        if user.status is not AccountStatus.SUSPENDED:
            raise InvalidState(f"User {name!r} is {user.status.value}, not suspended; nothing to resume.")
        user.status = AccountStatus.ACTIVE

    ctx.audited("person.resumed", name, change, {"reason": reason} if reason else None)
