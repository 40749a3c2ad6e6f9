"""A whole enclave for the integration tests: the harness's (harness/enclave.py) with the tests' own seed.

Processes start and stop through enclave.runtime (harness.enclave.start_hub
and stop_hub), as `enclave up|down` does; cleanup is by name prefix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from enclave.cohort import generate_cohort
from enclave.operations import datasets, people, projects
from harness.enclave import (
    REPO,
    TEST_LIMITS,
    EnclaveUnderTest,
    build_enclave,
    cleanup_instance,
    free_port,
    hub_environment,
    make_settings,
    start_hub,
    stop_hub,
)

__all__ = [
    "REPO",
    "SHARED_PROJECT_BUDGET",
    "TEST_LIMITS",
    "EnclaveUnderTest",
    "build_enclave",
    "cleanup_instance",
    "free_port",
    "hub_environment",
    "make_settings",
    "seed",
    "alice_alone",
    "start_hub",
    "stop_hub",
]

SHARED_PROJECT_BUDGET = 256 * 1024 * 1024  # bytes a day, per person and for all members of a shared project


def seed(enclave: EnclaveUnderTest, data_root: Path) -> None:
    """Projects, people and data the integration tests rely on."""
    ctx = enclave.ctx
    cohort = data_root / "cohort" / "v1"
    generate_cohort(cohort, participants=2_000, seed=7)
    secret = data_root / "secret" / "v1"
    generate_cohort(secret, participants=500, seed=8)
    datasets.register_dataset(ctx, "cohort", "v1", cohort)
    datasets.register_dataset(ctx, "secret", "v1", secret)
    for name in ("alpha", "beta", "gamma", "delta"):
        projects.create_project(ctx, name)
        # Shared by every test of a run, so their metered traffic adds up all day: a budget of their own,
        # not the 1 MiB floor a small cohort derives. Tests of the budget make their own project (metered_person).
        projects.set_egress_budget(ctx, name, SHARED_PROJECT_BUDGET, project_daily_bytes=SHARED_PROJECT_BUDGET)
    datasets.approve_dataset(ctx, "alpha", "cohort", "v1")
    datasets.approve_dataset(ctx, "beta", "secret", "v1")
    datasets.approve_dataset(ctx, "gamma", "cohort", "v1")
    datasets.approve_dataset(ctx, "delta", "cohort", "v1")
    accounts = {
        "alice": (["analyst"], ["alpha"]),
        "carol": (["analyst"], ["alpha"]),
        "bob": (["analyst"], ["beta"]),
        "dave": (["analyst"], ["gamma"]),
        "erin": (["analyst"], ["delta"]),
        "lockme": (["analyst"], []),
        "tina": (["analyst"], []),
        "rita": (["reviewer"], []),
        "rex": (["reviewer"], []),
        "oscar": (["operator"], []),
    }
    for name, (roles, member_of) in accounts.items():
        enclave.passwords[name] = people.add_user(ctx, name, roles).initial_password
        for project in member_of:
            people.add_member(ctx, project, name)


@contextmanager
def alice_alone(tmp_path: Path, prefix: str) -> Iterator[EnclaveUnderTest]:
    """A running installation of its own with one project, alpha, and one analyst, alice: for tests that
    restart or kill its processes (the shared installation's belong to every other test)."""
    enclave = build_enclave(tmp_path, make_settings(tmp_path, prefix=prefix))
    projects.create_project(enclave.ctx, "alpha")
    enclave.passwords["alice"] = people.add_user(enclave.ctx, "alice", ["analyst"]).initial_password
    people.add_member(enclave.ctx, "alpha", "alice")
    try:
        start_hub(enclave)
        yield enclave
    finally:
        stop_hub(enclave)
        cleanup_instance(enclave.settings.instance)
