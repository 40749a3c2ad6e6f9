"""Operator actions: each change is audited, and bad input changes nothing."""

import pytest
from sqlalchemy import func, select

from enclave.errors import AlreadyExists, DatasetIntegrityError, InvalidInput, InvalidState, NotFound
from enclave.operations import datasets, people, projects
from enclave.state.models import AuditEvent, Dataset, Membership, Project, ProjectStatus


def _count(ctx, model):
    with ctx.db.transaction() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _events(ctx):
    with ctx.db.transaction() as session:
        return [(e.action, e.target, e.outcome) for e in session.execute(select(AuditEvent)).scalars()]


def test_create_project_makes_its_folders_and_audits(ctx):
    projects.create_project(ctx, "alpha", title="A study")
    root = ctx.settings.projects_dir / "alpha"
    assert (root / "shared").is_dir() and (root / "homes").is_dir() and (root / "outbox").is_dir()
    assert _events(ctx) == [("project.create", "alpha", "ok")]


@pytest.mark.parametrize("bad", ["A", "ab", "Alpha", "al pha", "-alpha", "alpha-", "../x", "a" * 40])
def test_invalid_project_names_are_refused_without_state(ctx, bad):
    with pytest.raises(InvalidInput, match="not a valid project name"):
        projects.create_project(ctx, bad)
    assert _count(ctx, Project) == 0
    assert _events(ctx) == [("project.create", bad, "refused")]


def test_duplicate_project_is_refused(ctx):
    projects.create_project(ctx, "alpha")
    with pytest.raises(AlreadyExists):
        projects.create_project(ctx, "alpha")
    assert _count(ctx, Project) == 1


def test_suspend_stops_workspaces_and_resume_reopens(ctx):
    projects.create_project(ctx, "alpha")
    projects.suspend_project(ctx, "alpha")
    assert ctx.workspaces.stopped == [("alpha", None)]
    with pytest.raises(InvalidState, match="suspended"):
        projects.suspend_project(ctx, "alpha")
    projects.resume_project(ctx, "alpha")
    assert [p.status for p in projects.list_projects(ctx)] == [ProjectStatus.ACTIVE]


def test_unknown_project_says_how_to_find_projects(ctx):
    with pytest.raises(NotFound, match="enclave project list"):
        projects.suspend_project(ctx, "nope")


def test_limits_are_validated(ctx):
    projects.create_project(ctx, "alpha")
    with pytest.raises(InvalidInput):
        projects.set_limits(ctx, "alpha", mem_limit="lots")
    project = projects.set_limits(ctx, "alpha", mem_limit="8g", cpu_limit=2, pids_limit=1024)
    assert (project.mem_limit, project.cpu_limit, project.pids_limit) == ("8G", 2, 1024)


def test_add_user_returns_a_random_password_once(ctx):
    first = people.add_user(ctx, "alice", ["analyst"])
    second = people.add_user(ctx, "bobby", ["analyst"])
    assert len(first.initial_password) >= 16 and first.initial_password != second.initial_password
    assert first.roles == ("analyst",)


def test_user_needs_a_known_role(ctx):
    with pytest.raises(InvalidInput, match="at least one role"):
        people.add_user(ctx, "alice", [])
    with pytest.raises(InvalidInput, match="Unknown role"):
        people.add_user(ctx, "alice", ["admin"])
    assert people.list_users(ctx) == []


def test_membership_add_and_remove_stops_that_users_workspace(ctx):
    projects.create_project(ctx, "alpha")
    people.add_user(ctx, "alice", ["analyst"])
    people.add_member(ctx, "alpha", "alice")
    with pytest.raises(AlreadyExists):
        people.add_member(ctx, "alpha", "alice")
    people.remove_member(ctx, "alpha", "alice")
    assert ctx.workspaces.stopped == [("alpha", "alice")]
    with pytest.raises(NotFound):
        people.remove_member(ctx, "alpha", "alice")
    assert _count(ctx, Membership) == 1  # the ended membership stays for the record


def test_remove_user_ends_memberships_and_stops_workspaces(ctx):
    for name in ("alpha", "beta"):
        projects.create_project(ctx, name)
    people.add_user(ctx, "alice", ["analyst"])
    people.add_member(ctx, "alpha", "alice")
    people.add_member(ctx, "beta", "alice")
    people.remove_user(ctx, "alice")
    assert sorted(ctx.workspaces.stopped) == [("alpha", "alice"), ("beta", "alice")]
    (alice,) = people.list_users(ctx)
    assert alice["status"] == "disabled" and alice["projects"] == []


def test_totp_can_be_disabled_and_its_secret_is_replaced(ctx):
    from nativeauthenticator.orm import UserInfo

    from enclave.state import totp_secrets

    people.add_user(ctx, "alice", ["analyst"])
    uri = people.enable_totp(ctx, "alice")
    people.disable_totp(ctx, "alice")
    with ctx.db.transaction() as session:
        info = session.execute(select(UserInfo).where(UserInfo.username == "alice")).scalar_one()
    assert info.has_2fa is False and info.otp_secret is None
    with ctx.db.transaction() as session:
        assert totp_secrets.sealed_secret(session, "alice") is None  # the secret in the uri is dead
    assert uri
    with pytest.raises(InvalidState):
        people.disable_totp(ctx, "alice")


def test_roles_can_be_granted_and_revoked_but_not_all_removed(ctx):
    people.add_user(ctx, "alice", ["analyst"])
    assert people.grant_role(ctx, "alice", "reviewer") == ["analyst", "reviewer"]
    assert people.revoke_role(ctx, "alice", "analyst") == ["reviewer"]
    with pytest.raises(InvalidState, match="only role"):
        people.revoke_role(ctx, "alice", "reviewer")


def test_register_dataset_records_its_manifest(ctx, small_dataset):
    dataset = datasets.register_dataset(ctx, "cohort", "v1", small_dataset)
    assert dataset.file_count == 2 and len(dataset.manifest_digest) == 64


def test_register_missing_folder_is_refused_without_state(ctx, tmp_path):
    with pytest.raises(InvalidInput):
        datasets.register_dataset(ctx, "cohort", "v1", tmp_path / "nowhere")
    assert _count(ctx, Dataset) == 0


def test_register_against_providers_checksums(ctx, small_dataset, tmp_path):
    import hashlib

    good = tmp_path / "SHA256SUMS"
    good.write_text(
        "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in sorted(small_dataset.iterdir()))
    )
    datasets.register_dataset(ctx, "cohort", "v1", small_dataset, checksums_file=good)
    binary_mode = tmp_path / "SHA256SUMS.binary"
    binary_mode.write_text(good.read_text().replace("  ", " *"))
    datasets.register_dataset(ctx, "cohort", "v1b", small_dataset, checksums_file=binary_mode)
    bad = tmp_path / "BAD"
    bad.write_text(good.read_text().replace(good.read_text()[:8], "00000000", 1))
    with pytest.raises(DatasetIntegrityError, match="checksum differs"):
        datasets.register_dataset(ctx, "cohort", "v2", small_dataset, checksums_file=bad)
    assert _count(ctx, Dataset) == 2


def test_approval_refuses_a_dataset_changed_since_registration(ctx, small_dataset):
    projects.create_project(ctx, "alpha")
    datasets.register_dataset(ctx, "cohort", "v1", small_dataset)
    (small_dataset / "notes.txt").write_text("tampered\n")
    with pytest.raises(DatasetIntegrityError, match="no longer matches"):
        datasets.approve_dataset(ctx, "alpha", "cohort", "v1")
    assert _events(ctx)[-1] == ("dataset.approve", "alpha:cohort@v1", "refused")


def test_revoking_a_dataset_stops_the_projects_workspaces(ctx, tmp_path):
    from enclave.cohort import generate_cohort

    generate_cohort(tmp_path / "cohort", participants=20, seed=1)
    projects.create_project(ctx, "alpha")
    datasets.register_dataset(ctx, "cohort", "v1", tmp_path / "cohort")
    datasets.approve_dataset(ctx, "alpha", "cohort", "v1")
    with pytest.raises(AlreadyExists):
        datasets.approve_dataset(ctx, "alpha", "cohort", "v1")
    datasets.revoke_dataset(ctx, "alpha", "cohort", "v1")
    assert ctx.workspaces.stopped == [("alpha", None)]
