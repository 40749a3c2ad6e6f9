"""Look-ups shared by the operator tools, the spawner and the authenticator."""

from __future__ import annotations

from nativeauthenticator.orm import UserInfo
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound
from .models import AccountStatus, Dataset, DatasetApproval, Membership, Project, Role, RoleGrant, User


def get_project(session: Session, name: str) -> Project:
    project = session.execute(select(Project).where(Project.name == name)).scalar_one_or_none()
    if project is None:
        raise NotFound(f"No project named {name!r}. See the projects with 'enclave project list'.")
    return project


def find_project(session: Session, name: str) -> Project | None:
    return session.execute(select(Project).where(Project.name == name)).scalar_one_or_none()


def get_user(session: Session, name: str) -> User:
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No user named {name!r}. See the users with 'enclave user list'.")
    return user


def find_user(session: Session, name: str) -> User | None:
    return session.execute(select(User).where(User.name == name)).scalar_one_or_none()


def get_dataset(session: Session, name: str, version: str) -> Dataset:
    dataset = session.execute(
        select(Dataset).where(Dataset.name == name, Dataset.version == version)
    ).scalar_one_or_none()
    if dataset is None:
        raise NotFound(f"No dataset {name}@{version} is registered. See them with 'enclave dataset list'.")
    return dataset


def active_membership(session: Session, project: Project, user: User) -> Membership | None:
    return session.execute(
        select(Membership).where(
            Membership.project_id == project.id,
            Membership.user_id == user.id,
            Membership.removed_at.is_(None),
        )
    ).scalar_one_or_none()


def active_approvals(session: Session, project: Project) -> list[DatasetApproval]:
    return list(
        session.execute(
            select(DatasetApproval)
            .where(DatasetApproval.project_id == project.id, DatasetApproval.revoked_at.is_(None))
            .order_by(DatasetApproval.id)
        ).scalars()
    )


def active_projects_of(session: Session, user: User) -> list[Project]:
    return list(
        session.execute(
            select(Project)
            .join(Membership, Membership.project_id == Project.id)
            .where(Membership.user_id == user.id, Membership.removed_at.is_(None))
            .order_by(Project.name)
        ).scalars()
    )


def people_with_role(session: Session, role: Role) -> list[str]:
    """Names of the active accounts holding ``role`` (who hears of what it is told of)."""
    return list(
        session.execute(
            select(User.name)
            .join(RoleGrant)
            .where(RoleGrant.role == role, User.status == AccountStatus.ACTIVE)
            .order_by(User.name)
        ).scalars()
    )


def email_of(session: Session, name: str) -> str | None:
    """The person's email address (kept on their login account), or None."""
    email = session.execute(select(UserInfo.email).where(UserInfo.username == name)).scalar_one_or_none()
    return email or None
