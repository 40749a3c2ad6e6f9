"""Budgets sized to the data: days to carry a project's extracts out, floor and ceiling, overrides, the project cap."""

from __future__ import annotations

import asyncio
import lzma
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from enclave.cohort import generate_cohort
from enclave.cohort.genotypes import MATRIX_TABLE, VCF_FILE
from enclave.egress.budgets import MIB, budget_for, budgets_of, days_to_extract, derived_daily
from enclave.egress.channels import AIRLOCK_PROJECT, HUB_PROJECT
from enclave.errors import InvalidInput
from enclave.extracts.information import extract_information, measuring_limit
from enclave.metering import EgressMeter
from enclave.operations import datasets, people, projects
from enclave.state.models import AccountStatus, AuditEvent, DatasetExtract, User

KIB = 1024


def test_days_to_extract_arithmetic():
    assert days_to_extract(30 * MIB, MIB) == 30
    assert derived_daily(30 * MIB, 30, floor=KIB, ceiling=64 * MIB) == MIB
    assert days_to_extract(30 * MIB, derived_daily(30 * MIB, 30, KIB, 64 * MIB)) >= 30
    assert days_to_extract(31 * MIB + 7, derived_daily(31 * MIB + 7, 30, KIB, 64 * MIB)) >= 30  # rounds down
    assert days_to_extract(0, MIB) == 0


def test_floor_and_ceiling_bound_the_derived_budget(settings):
    assert derived_daily(10 * KIB, 30, floor=MIB, ceiling=64 * MIB) == MIB  # a small project still gets work done
    assert derived_daily(100 * 1024 * MIB, 30, floor=MIB, ceiling=64 * MIB) == 64 * MIB  # a big one: more days
    big = budget_for(settings, 100 * 1024 * MIB)
    assert (big.per_person, big.project_cap) == (64 * MIB, 64 * MIB) and big.days_person == 1600
    settings.metering_budget_floor = 2 * settings.metering_budget_ceiling
    with pytest.raises(ValueError, match="floor .* above .* ceiling"):
        budget_for(settings, MIB)


def test_pseudo_projects_get_the_floor_without_a_cap_and_unknown_projects_the_floor_for_both(ctx):
    with ctx.db.reading() as session:
        found = budgets_of(session, ctx.settings, {HUB_PROJECT, AIRLOCK_PROJECT, "ghost"})
    floor = ctx.settings.metering_budget_floor
    assert (found[HUB_PROJECT].per_person, found[HUB_PROJECT].project_cap) == (floor, None)
    assert (found[AIRLOCK_PROJECT].per_person, found[AIRLOCK_PROJECT].project_cap) == (floor, None)
    assert (found["ghost"].per_person, found["ghost"].project_cap) == (floor, floor)


@pytest.fixture
def with_extract(ctx, tmp_path):
    """Project alpha with the extract of a 3,000-participant cohort; a floor small enough to see the sizing."""
    ctx.settings.metering_budget_floor = KIB
    generate_cohort(tmp_path / "cohort", participants=3000, seed=5)
    projects.create_project(ctx, "alpha")
    datasets.register_dataset(ctx, "cohort", "v1", tmp_path / "cohort")
    datasets.approve_dataset(ctx, "alpha", "cohort", "v1")
    return ctx


def stored_information(ctx, project: str) -> int:
    with ctx.db.reading() as session:
        return sum(
            session.execute(
                select(DatasetExtract.information_bytes).where(
                    DatasetExtract.project.has(name=project), DatasetExtract.removed_at.is_(None)
                )
            ).scalars()
        )


def test_an_approved_extract_records_its_information_and_sizes_the_budgets(with_extract):
    ctx = with_extract
    with ctx.db.reading() as session:
        path = session.execute(select(DatasetExtract.path)).scalar_one()
    information = stored_information(ctx, "alpha")
    on_disk = sum(f.stat().st_size for f in os.scandir(path))
    assert information == extract_information(path)
    assert information <= on_disk < 2 * information  # Parquet is compressed already
    (budget,) = projects.project_budgets(ctx, {"alpha"}).values()
    assert budget.extract_bytes == information
    assert budget.per_person == budget.project_cap == information // 30
    assert budget.days_person >= 30 and budget.days_project >= 30
    datasets.revoke_dataset(ctx, "alpha", "cohort", "v1")
    (budget,) = projects.project_budgets(ctx, {"alpha"}).values()
    assert (budget.extract_bytes, budget.per_person) == (0, KIB)  # nothing approved: the floor


def test_a_genotype_extract_counts_its_vcf_not_the_matrix_table_made_from_it(tmp_path):
    folder = tmp_path / "extract"
    (folder / MATRIX_TABLE / "rows").mkdir(parents=True)
    (folder / VCF_FILE).write_bytes(os.urandom(50_000))
    (folder / MATRIX_TABLE / "rows" / "part-0").write_bytes(os.urandom(50_000))
    (folder / "samples.parquet").write_bytes(b"x" * 50_000)
    information = extract_information(folder)
    assert 50_000 <= information < 51_000  # the random VCF, plus a little for the repetitive table
    assert information < 50_000 + len(lzma.compress(b"x" * 50_000)) + 200


def test_project_overrides_of_person_cap_and_days(with_extract):
    ctx = with_extract
    information = stored_information(ctx, "alpha")
    budget = projects.set_egress_budget(ctx, "alpha", days_to_extract=60)
    assert budget.per_person == budget.project_cap == information // 60 and budget.fixed == ("days",)
    budget = projects.set_egress_budget(ctx, "alpha", 5 * MIB)
    assert (budget.per_person, budget.project_cap) == (5 * MIB, 5 * MIB)  # a person's budget above the cap lifts it
    budget = projects.set_egress_budget(ctx, "alpha", project_daily_bytes=20 * MIB)
    assert (budget.per_person, budget.project_cap, budget.days_target) == (5 * MIB, 20 * MIB, 60)
    assert budget.fixed == ("person", "project", "days")
    budget = projects.set_egress_budget(ctx, "alpha", None, project_daily_bytes=None, days_to_extract=None)
    assert budget.per_person == budget.project_cap == information // 30 and budget.fixed == ()
    for bad in ({"days_to_extract": 0.5}, {"project_daily_bytes": 0}, {"daily_bytes": -1}):
        with pytest.raises(InvalidInput):
            projects.set_egress_budget(ctx, "alpha", **bad)
    with ctx.db.reading() as session:
        refused = (
            session.execute(
                select(AuditEvent).where(AuditEvent.action == "project.set-budget", AuditEvent.outcome == "refused")
            )
            .scalars()
            .all()
        )
    assert len(refused) == 3


# --- the project's cap in the meter ------------------------------------------------------------

CAP = 1000


@pytest.fixture
def team(ctx):
    """alice and bob in alpha (a 1000-byte cap for both together, 800 each) and in beta (no tight cap)."""
    ctx.settings.metering_budget_floor = ctx.settings.metering_budget_ceiling = 10**9
    for name in ("alpha", "beta"):
        projects.create_project(ctx, name)
    projects.set_egress_budget(ctx, "alpha", 800, project_daily_bytes=CAP)
    for name in ("alice", "bob"):
        people.add_user(ctx, name, ["analyst"])
        for project in ("alpha", "beta"):
            people.add_member(ctx, project, name)
    return ctx


def audit_events(ctx, action: str) -> list[AuditEvent]:
    with ctx.db.reading() as session:
        found = session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()
        return [(e.target, e.outcome, e.details["bytes"], e.details["budget"]) for e in found]


def test_spending_the_project_cap_cuts_every_member_and_suspends_no_one(team):
    async def run():
        meter = EgressMeter(team.settings, db=team.db, workspaces=team.workspaces)
        assert meter.count("alice", "alpha", 600, "kernel") is True
        assert meter.stream("bob", "alpha", "contents").send(os.urandom(500)) is False  # 600 + ~500 >= 1000
        await meter.flush()
        assert meter.blocked("alice", "alpha") and meter.blocked("bob", "alpha")
        assert not meter.blocked("alice", "beta")  # other projects go on
        assert meter.count("alice", "beta", 600, "kernel") is True
        await meter.close()
        fresh = EgressMeter(team.settings, db=team.db, workspaces=team.workspaces)  # the ledger remembers
        assert fresh.blocked("bob", "alpha")

    asyncio.run(run())
    assert [e[:2] for e in audit_events(team, "metering.project-alert")] == [("alpha", "ok")]
    ((target, outcome, total, budget),) = audit_events(team, "metering.project-exceeded")
    assert (target, outcome, budget) == ("alpha", "refused", CAP) and total >= CAP
    assert audit_events(team, "metering.exceeded") == []
    with team.db.reading() as session:
        assert set(session.execute(select(User.status)).scalars()) == {AccountStatus.ACTIVE}
    assert team.workspaces.stopped == []


def test_the_project_cap_is_judged_across_meters_and_starts_afresh_the_next_day(team):
    class Clock:
        at = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

        def __call__(self):
            return self.at

    clock = Clock()

    async def run():
        one = EgressMeter(team.settings, db=team.db, workspaces=team.workspaces, clock=clock)
        two = EgressMeter(team.settings, db=team.db, workspaces=team.workspaces, clock=clock)
        assert one.count("alice", "alpha", 500, "kernel")
        assert two.count("bob", "alpha", 400, "kernel")
        await one.flush()
        await two.flush()
        assert two.count("bob", "alpha", 100, "kernel") is False  # 500 + 400 + 100 reaches the cap
        await two.flush()
        await one.flush()
        assert one.blocked("alice", "alpha")
        clock.at += timedelta(days=1)
        assert not one.blocked("alice", "alpha")
        assert one.count("alice", "alpha", 500, "kernel") is True
        await one.close()
        await two.close()

    asyncio.run(run())
    assert len(audit_events(team, "metering.project-exceeded")) == 1


def test_a_person_spending_their_own_budget_is_suspended_as_before(team):
    async def run():
        meter = EgressMeter(team.settings, db=team.db, workspaces=team.workspaces)
        assert meter.count("alice", "alpha", 800, "kernel") is False  # their 800, below the cap of 1000
        await meter.flush()
        await asyncio.gather(*meter._enforcing)
        assert not meter.blocked("bob", "alpha")

    asyncio.run(run())
    assert [e[:2] for e in audit_events(team, "metering.exceeded")] == [("alpha/alice", "refused")]
    assert audit_events(team, "metering.project-exceeded") == []
    assert ("alpha", "alice") in team.workspaces.stopped


def test_budgets_that_cannot_be_read_fail_closed(team):
    team.settings.metering_budget_floor = team.settings.metering_budget_ceiling + 1
    meter = EgressMeter(team.settings, db=team.db, workspaces=team.workspaces)
    assert meter.blocked("alice", "beta")
    assert meter.stream("alice", "beta", "kernel").send(b"x") is False


def test_measuring_stops_at_the_limit_which_only_makes_budgets_smaller(tmp_path, settings):
    (tmp_path / "a.parquet").write_bytes(os.urandom(3 * 1024 * 1024))
    (tmp_path / "b.parquet").write_bytes(os.urandom(1024 * 1024))
    whole = extract_information(tmp_path)
    assert whole >= 4 * 1024 * 1024
    stopped = extract_information(tmp_path, limit=MIB)
    assert MIB <= stopped < whole
    assert measuring_limit(settings) == 2 * 64 * MIB * 30
