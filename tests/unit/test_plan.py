"""Who may start a workspace for which project, and what it mounts."""

import pytest

from enclave.cohort import generate_cohort
from enclave.errors import DatasetIntegrityError, SpawnRefused
from enclave.operations import datasets, people, projects
from enclave.spawner import hardening
from enclave.spawner.plan import plan_workspace


@pytest.fixture
def cohort(tmp_path):
    folder = tmp_path / "data" / "cohort" / "v1"
    generate_cohort(folder, participants=50, seed=1)
    return folder


@pytest.fixture
def world(ctx, cohort):
    projects.create_project(ctx, "alpha")
    projects.create_project(ctx, "beta")
    people.add_user(ctx, "alice", ["analyst"])
    people.add_member(ctx, "alpha", "alice")
    datasets.register_dataset(ctx, "cohort", "v1", cohort)
    datasets.approve_dataset(ctx, "alpha", "cohort", "v1")
    return ctx


def _extract_folder(ctx, project):
    return ctx.settings.state_path / "extracts" / project / "cohort" / "v1"


def _plan(ctx, user, project):
    return plan_workspace(ctx.db, ctx.settings, user, project)


def test_member_of_active_project_gets_a_plan_with_only_the_projects_extract(world, cohort):
    plan = _plan(world, "alice", "alpha")
    assert [(m.label, m.source, m.target) for m in plan.datasets] == [
        ("cohort@v1", _extract_folder(world, "alpha"), "/data/cohort/v1")
    ]
    assert all(m.source != cohort for m in plan.datasets)
    assert plan.home == world.settings.projects_dir / "alpha" / "homes" / "alice"
    assert plan.mem_limit == world.settings.workspace_mem_limit


@pytest.mark.parametrize(
    "user,project,reason",
    [
        ("alice", "beta", "not a member"),
        ("alice", "", "per project"),
        ("alice", "ghost", "not a member"),
        ("nobody", "alpha", "not a member"),
    ],
)
def test_refusals(world, user, project, reason):
    with pytest.raises(SpawnRefused, match=reason):
        _plan(world, user, project)


def test_suspended_project_refuses(world):
    projects.suspend_project(world, "alpha")
    with pytest.raises(SpawnRefused, match="suspended"):
        _plan(world, "alice", "alpha")


def test_removed_member_refused(world):
    people.remove_member(world, "alpha", "alice")
    with pytest.raises(SpawnRefused, match="not a member"):
        _plan(world, "alice", "alpha")


def test_per_project_limits_override_defaults(world):
    projects.set_limits(world, "alpha", mem_limit="8G", cpu_limit=2.5, pids_limit=2048)
    plan = _plan(world, "alice", "alpha")
    assert (plan.mem_limit, plan.cpu_limit, plan.pids_limit) == ("8G", 2.5, 2048)


def test_extract_changed_after_approval_stops_spawns(world):
    folder = _extract_folder(world, "alpha")
    folder.chmod(0o755)
    (folder / "notes.txt").write_text("grown by someone\n")
    with pytest.raises(DatasetIntegrityError, match="extract of cohort@v1"):
        _plan(world, "alice", "alpha")


def test_revoked_dataset_is_no_longer_planned(world):
    datasets.revoke_dataset(world, "alpha", "cohort", "v1")
    assert _plan(world, "alice", "alpha").datasets == ()


def test_hardening_mounts_data_read_only_and_nothing_else_from_the_host(world):
    plan = _plan(world, "alice", "alpha")
    mounts = hardening.mounts(plan)
    assert [m["target"] for m in mounts] == [
        "/home/analyst",
        "/home/analyst/shared",
        "/home/analyst/outbox",
        "/data/cohort/v1",
    ]
    assert [m["read_only"] for m in mounts] == [False, False, False, True]
    config = hardening.host_config(plan, "1g")
    assert config["cap_drop"] == ["ALL"] and config["read_only"] is True and config["privileged"] is False
