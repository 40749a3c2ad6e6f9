"""EgressMeter: counting against daily budgets in the real state database (SQLite), as the edge calls it."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from enclave.metering import CHANNELS, EgressMeter
from enclave.operations import people, projects
from enclave.settings import EnclaveSettings
from enclave.state.models import AccountStatus, AuditEvent, EgressUsage, User

BUDGET = 1000


class Clock:
    """A settable UTC clock, so tests cross midnight without waiting for it."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock():
    return Clock(datetime(2026, 11, 21, 23, 59, tzinfo=UTC))


def per_person(ctx, nbytes: int) -> None:
    """Make every project's derived budget per person `nbytes` (floor and ceiling both)."""
    ctx.settings.metering_budget_floor = ctx.settings.metering_budget_ceiling = nbytes


@pytest.fixture
def members(ctx):
    """alice and bob, members of alpha and beta, with a 1000-byte budget per person and no effective project cap."""
    per_person(ctx, BUDGET)
    for name in ("alpha", "beta"):
        projects.create_project(ctx, name)
        projects.set_egress_budget(ctx, name, project_daily_bytes=10**12)
    for name in ("alice", "bob"):
        people.add_user(ctx, name, ["analyst"])
        for project in ("alpha", "beta"):
            people.add_member(ctx, project, name)
    return ctx


def make_meter(ctx, clock=None) -> EgressMeter:
    kwargs = {"clock": clock} if clock else {}
    return EgressMeter(ctx.settings, db=ctx.db, workspaces=ctx.workspaces, **kwargs)


def events(ctx, action: str) -> list[SimpleNamespace]:
    with ctx.db.reading() as session:
        found = session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).scalars()
        return [
            SimpleNamespace(seq=e.seq, actor=e.actor, target=e.target, outcome=e.outcome, details=e.details)
            for e in found
        ]


def status(ctx, name: str) -> AccountStatus:
    with ctx.db.reading() as session:
        return session.execute(select(User.status).where(User.name == name)).scalar_one()


def ledger_total(ctx, user: str, project: str) -> int:
    with ctx.db.reading() as session:
        return sum(
            session.execute(
                select(EgressUsage.bytes).where(EgressUsage.user == user, EgressUsage.project == project)
            ).scalars()
        )


async def settle(meter: EgressMeter) -> None:
    """Flush, then let enforcement started by that flush finish."""
    await meter.flush()
    if meter._enforcing:
        await asyncio.gather(*meter._enforcing)


def test_count_allows_until_the_budget_is_used_up(members):
    meter = make_meter(members)
    assert meter.count("alice", "alpha", 600, "kernel") is True
    assert not meter.blocked("alice", "alpha")
    assert meter.count("alice", "alpha", 400, "terminal") is False  # reaches the budget exactly
    assert meter.blocked("alice", "alpha")
    assert meter.count("alice", "alpha", 1, "kernel") is False


def test_budgets_are_per_user_and_project(members):
    meter = make_meter(members)
    assert meter.count("alice", "alpha", BUDGET, "kernel") is False
    assert meter.count("alice", "beta", 10, "kernel") is True
    assert meter.count("bob", "alpha", 10, "kernel") is True
    assert not meter.blocked("bob", "alpha")


def test_unknown_channel_and_negative_bytes_are_refused(members):
    meter = make_meter(members)
    with pytest.raises(ValueError, match="unknown metering channel"):
        meter.count("alice", "alpha", 1, "static")
    with pytest.raises(ValueError, match="negative"):
        meter.count("alice", "alpha", -1, "kernel")
    assert CHANNELS == {"kernel", "terminal", "contents", "app", "other-api", "page", "websocket", "hub", "airlock"}


def test_unknown_and_removed_people_get_nothing(members):
    people.remove_user(members, "bob")
    meter = make_meter(members)
    assert meter.count("mallory", "alpha", 1, "kernel") is False
    assert meter.count("bob", "alpha", 1, "kernel") is False
    assert meter.blocked("bob", "alpha")


def test_budget_settings_defaults_and_environment(tmp_path, monkeypatch):
    settings = EnclaveSettings(state_dir=str(tmp_path))
    assert settings.metering_days_to_extract == 30
    assert (settings.metering_budget_floor, settings.metering_budget_ceiling) == (1024 * 1024, 64 * 1024 * 1024)
    monkeypatch.setenv("ENCLAVE_METERING_DAYS_TO_EXTRACT", "45")
    monkeypatch.setenv("ENCLAVE_METERING_BUDGET_FLOOR", "2048")
    monkeypatch.setenv("ENCLAVE_METERING_BUDGET_CEILING", "4096")
    settings = EnclaveSettings(state_dir=str(tmp_path))
    assert (settings.metering_days_to_extract, settings.metering_budget_floor, settings.metering_budget_ceiling) == (
        45,
        2048,
        4096,
    )
    with pytest.raises(Exception, match="at least 1 byte"):
        EnclaveSettings(state_dir=str(tmp_path), metering_budget_floor=0)
    with pytest.raises(Exception, match="at least 1 day"):
        EnclaveSettings(state_dir=str(tmp_path), metering_days_to_extract=0.5)


def test_flush_writes_bytes_per_channel(members):
    meter = make_meter(members)
    meter.count("alice", "alpha", 100, "kernel")
    meter.count("alice", "alpha", 50, "kernel")
    meter.count("alice", "alpha", 7, "contents")
    asyncio.run(meter.flush())
    with members.db.reading() as session:
        rows = {(r.channel, r.bytes) for r in session.execute(select(EgressUsage)).scalars()}
    assert rows == {("kernel", 150), ("contents", 7)}


def test_alert_at_half_the_budget_is_raised_once(members):
    async def run():
        meter = make_meter(members)
        meter.count("alice", "alpha", 499, "kernel")
        await settle(meter)
        assert events(members, "metering.alert") == []
        meter.count("alice", "alpha", 1, "kernel")
        await settle(meter)
        meter.count("alice", "alpha", 100, "kernel")
        await settle(meter)

    asyncio.run(run())
    (alert,) = events(members, "metering.alert")
    assert alert.target == "alpha/alice"
    assert alert.details["bytes"] == 500 and alert.details["budget"] == BUDGET
    assert status(members, "alice") is AccountStatus.ACTIVE
    assert members.workspaces.stopped == []


def test_exceeding_the_budget_suspends_and_stops_once(members):
    async def run():
        meter = make_meter(members)
        assert meter.count("alice", "alpha", 1200, "terminal") is False
        await settle(meter)
        assert meter.count("alice", "alpha", 10, "terminal") is False
        await settle(meter)
        return meter

    meter = asyncio.run(run())
    (exceeded,) = events(members, "metering.exceeded")
    assert exceeded.target == "alpha/alice" and exceeded.details["bytes"] == 1200
    (suspended,) = events(members, "person.suspended")
    assert suspended.target == "alice" and suspended.actor == "metering"
    assert suspended.details["reason"] == "metering budget exceeded"
    assert suspended.seq > exceeded.seq
    assert len(events(members, "metering.alert")) == 1  # crossing 50% and 100% at once raises both
    assert status(members, "alice") is AccountStatus.SUSPENDED
    assert ("alpha", "alice") in members.workspaces.stopped
    assert meter.blocked("alice", "beta")  # a suspended person gets nothing from any project
    assert not meter.blocked("bob", "alpha")


def test_a_resumed_person_stays_cut_off_until_the_budget_is_raised(members):
    async def run():
        meter = make_meter(members)
        meter.count("alice", "alpha", BUDGET, "kernel")
        await settle(meter)
        people.resume_user(members, "alice")
        await meter.flush()
        assert not meter.blocked("alice", "beta")
        assert meter.blocked("alice", "alpha")  # today's usage stays counted
        projects.set_egress_budget(members, "alpha", 4 * BUDGET)
        await meter.flush()
        assert not meter.blocked("alice", "alpha")
        assert meter.count("alice", "alpha", BUDGET, "kernel") is True  # 2000 of 4000: a new alert
        await settle(meter)

    asyncio.run(run())
    assert [e.details["budget"] for e in events(members, "metering.alert")] == [BUDGET, 4 * BUDGET]
    assert len(events(members, "person.resumed")) == 1
    assert status(members, "alice") is AccountStatus.ACTIVE


def test_per_project_override_and_back_to_default(members):
    projects.set_egress_budget(members, "alpha", 100)
    meter = make_meter(members)
    assert meter.count("alice", "alpha", 100, "kernel") is False
    assert meter.count("alice", "beta", 100, "kernel") is True
    projects.set_egress_budget(members, "alpha", None)
    asyncio.run(meter.flush())
    assert not meter.blocked("alice", "alpha")
    changes = [e.details for e in events(members, "project.set-budget") if "daily_bytes" in e.details]
    assert changes == [{"daily_bytes": 100}, {"daily_bytes": "derived"}]


def test_day_rollover_starts_a_new_budget_and_keeps_late_bytes_on_their_day(members, clock):
    async def run():
        meter = make_meter(members, clock)
        meter.count("alice", "alpha", 600, "kernel")  # 23:59: alert for the 21st, not yet written
        clock.at += timedelta(minutes=2)  # 00:01 on the 22nd
        assert not meter.blocked("alice", "alpha")
        assert meter.count("alice", "alpha", 600, "kernel") is True
        await settle(meter)
        assert meter.count("alice", "alpha", 399, "kernel") is True
        assert meter.count("alice", "alpha", 1, "kernel") is False

    asyncio.run(run())
    with members.db.reading() as session:
        by_day = {r.day: r.bytes for r in session.execute(select(EgressUsage)).scalars()}
    assert by_day == {"2026-11-21": 600, "2026-11-22": 600}
    assert sorted(e.details["day"] for e in events(members, "metering.alert")) == ["2026-11-21", "2026-11-22"]


def test_a_restarted_meter_keeps_the_days_totals(members):
    async def run():
        first = make_meter(members)
        assert first.count("alice", "alpha", 900, "kernel") is True
        await first.close()
        second = make_meter(members)
        assert second.count("alice", "alpha", 100, "kernel") is False
        await second.close()

    asyncio.run(run())
    assert ledger_total(members, "alice", "alpha") == 1000
    assert len(events(members, "metering.exceeded")) == 1


def test_two_meters_on_one_database_neither_lose_nor_double_count(members):
    per_person(members, 10**9)
    rounds, frame = 40, 7

    async def feed(meter):
        for _ in range(rounds):
            for _ in range(5):
                assert meter.count("alice", "alpha", frame, "kernel")
            await meter.flush()

    async def run():
        one, two = make_meter(members), make_meter(members)
        await asyncio.gather(feed(one), feed(two))
        await one.flush()
        await two.flush()
        return one, two

    one, two = asyncio.run(run())
    expected = 2 * rounds * 5 * frame
    assert ledger_total(members, "alice", "alpha") == expected
    assert one._seen[("alice", "alpha")] == two._seen[("alice", "alpha")] == expected  # each sees the other's


def test_budget_is_judged_on_all_meters_together(members):
    async def run():
        one, two = make_meter(members), make_meter(members)
        assert one.count("alice", "alpha", 600, "kernel")
        assert two.count("alice", "alpha", 300, "kernel")
        await one.flush()
        await two.flush()
        assert two.count("alice", "alpha", 100, "kernel") is False  # 600 + 300 + 100
        await settle(two)
        await one.flush()
        assert one.blocked("alice", "alpha")

    asyncio.run(run())


def test_a_failing_ledger_write_fails_closed_and_loses_nothing(members):
    async def run():
        meter = make_meter(members)
        assert meter.count("alice", "alpha", 100, "kernel")
        with members.db.transaction() as session:
            session.execute(
                text(
                    "CREATE TRIGGER no_writes BEFORE INSERT ON egress_usage BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                )
            )
        await meter.flush()
        assert meter.count("alice", "alpha", 1, "kernel") is False
        assert meter.blocked("bob", "beta")
        with members.db.transaction() as session:
            session.execute(text("DROP TRIGGER no_writes"))
        await meter.flush()
        assert meter.count("alice", "alpha", 1, "kernel") is True

    asyncio.run(run())
    assert ledger_total(members, "alice", "alpha") == 100  # the refused frames were not counted


def test_an_unreadable_ledger_refuses_data(members):
    with members.db.transaction() as session:
        session.execute(text("DROP TABLE egress_usage"))
    meter = make_meter(members)
    assert meter.count("alice", "alpha", 1, "kernel") is False
    assert meter.blocked("alice", "alpha")


def test_start_flushes_in_the_background_and_close_flushes_the_rest(members):
    async def run():
        meter = EgressMeter(members.settings, db=members.db, workspaces=members.workspaces, flush_interval=0.01)
        await meter.start()
        meter.count("alice", "alpha", 10, "contents")
        for _ in range(500):
            if ledger_total(members, "alice", "alpha") == 10:
                break
            await asyncio.sleep(0.01)
        assert ledger_total(members, "alice", "alpha") == 10
        meter.count("alice", "alpha", 5, "contents")
        await meter.close()

    asyncio.run(run())
    assert ledger_total(members, "alice", "alpha") == 15


def test_crossing_the_budget_enforces_without_waiting_for_the_next_tick(members):
    async def run():
        meter = EgressMeter(members.settings, db=members.db, workspaces=members.workspaces, flush_interval=3600)
        await meter.start()
        await asyncio.sleep(0)
        meter.count("alice", "alpha", BUDGET, "kernel")
        for _ in range(500):
            if status(members, "alice") is AccountStatus.SUSPENDED:
                break
            await asyncio.sleep(0.01)
        await meter.close()

    asyncio.run(run())
    assert status(members, "alice") is AccountStatus.SUSPENDED


def test_a_person_first_seen_while_a_flush_is_under_way_is_not_blocked_by_it(members):
    async def run():
        meter = make_meter(members)
        assert meter.count("alice", "alpha", 10, "kernel")
        flushing = asyncio.create_task(meter.flush())
        await asyncio.sleep(0)  # the flush has taken its batch and is writing in a thread
        assert meter.count("bob", "alpha", 10, "kernel")
        await flushing
        assert not meter.blocked("bob", "alpha")
        assert meter.count("bob", "alpha", 10, "kernel")

    asyncio.run(run())


def test_a_suspended_person_cannot_start_a_workspace_until_resumed(members):
    from enclave.errors import SpawnRefused
    from enclave.spawner.plan import plan_workspace

    people.suspend_user(members, "alice", "metering budget exceeded")
    with pytest.raises(SpawnRefused, match="'alice' is suspended"):
        plan_workspace(members.db, members.settings, "alice", "alpha")
    assert sorted(members.workspaces.stopped) == [("alpha", "alice"), ("beta", "alice")]
    people.resume_user(members, "alice")
    assert plan_workspace(members.db, members.settings, "alice", "alpha").user == "alice"


def test_the_hub_logs_out_a_suspended_person_and_refuses_their_tokens(members, monkeypatch):
    from enclave.auth.authenticator import EnclaveAuthenticator

    monkeypatch.setenv("ENCLAVE_STATE_DIR", members.settings.state_dir)
    auth = EnclaveAuthenticator()
    # The hub asks again at least every minute and before every spawn, for cookies and tokens alike.
    assert (auth.auth_refresh_age, auth.refresh_pre_spawn, auth.auth_refresh_strict) == (60, True, True)
    hub_user = SimpleNamespace(name="alice")
    assert asyncio.run(auth.refresh_user(hub_user))["name"] == "alice"
    people.suspend_user(members, "alice", "metering budget exceeded")
    handler = SimpleNamespace()  # a cookie-authenticated request: JupyterHub never set the token flag
    assert asyncio.run(auth.refresh_user(hub_user, handler)) is False
    assert handler._token_authenticated is False
    assert auth.check_allowed("alice") is False


def test_a_failing_read_after_a_committed_write_neither_recounts_nor_lets_data_through(members):
    async def run():
        meter = make_meter(members)
        assert meter.count("alice", "alpha", 100, "kernel")
        real_read = meter._read

        def unreadable(*args):
            raise OSError("injected: the database went away after the commit")

        meter._read = unreadable
        await meter.flush()
        assert meter.blocked("alice", "alpha")  # fails closed
        meter._read = real_read
        await meter.flush()
        assert meter.count("alice", "alpha", 1, "kernel")
        await meter.flush()

    asyncio.run(run())
    assert ledger_total(members, "alice", "alpha") == 101


def ledger_rows(ctx) -> dict[tuple[str, str, str], tuple[int, int]]:
    with ctx.db.reading() as session:
        return {
            (r.user, r.project, r.channel): (r.bytes, r.raw_bytes)
            for r in session.execute(select(EgressUsage)).scalars()
        }


def test_a_stream_counts_information_and_records_raw_bytes_too(members):
    per_person(members, 10**9)
    body = b'{"content": "' + b"x" * 100_000 + b'"}'

    async def run():
        meter = make_meter(members)
        assert meter.stream("alice", "alpha", "contents").send(body) is True
        assert meter.stream("alice", "alpha", "contents").send(body) is True  # reopened: a reference
        await meter.close()

    asyncio.run(run())
    counted, raw = ledger_rows(members)[("alice", "alpha", "contents")]
    assert raw == 2 * len(body)
    assert 16 < counted < 2_000


def test_a_stream_stops_at_the_budget_and_what_was_refused_is_not_remembered(members):
    meter = make_meter(members)
    stream = meter.stream("alice", "alpha", "kernel")
    block = os.urandom(600)
    assert stream.send(block) is True  # about 600 of 1000
    refused = os.urandom(600)
    assert stream.send(refused) is False
    assert meter.blocked("alice", "alpha")
    assert meter.stream("alice", "beta", "kernel").send(refused) is True  # not taken for a repeat...
    assert meter._seen[("alice", "beta")] > 600  # ...so charged in full


def test_a_stream_refuses_a_blocked_person_and_unknown_channels(members):
    people.suspend_user(members, "bob", "test")
    meter = make_meter(members)
    assert meter.stream("bob", "alpha", "kernel").send(b"hello") is False
    with pytest.raises(ValueError, match="unknown metering channel"):
        meter.stream("alice", "alpha", "static")


def test_repeats_are_remembered_per_person_and_day(members, clock):
    per_person(members, 10**9)
    meter = make_meter(members, clock)
    body = os.urandom(10_000)
    meter.stream("alice", "alpha", "contents").send(body)
    before = meter._seen[("bob", "alpha")] if ("bob", "alpha") in meter._seen else 0
    meter.stream("bob", "alpha", "contents").send(body)
    assert meter._seen[("bob", "alpha")] - before > len(body)  # bob never received it
    clock.at += timedelta(minutes=2)  # a new UTC day: everything is new again
    meter.stream("alice", "alpha", "contents").send(body)
    assert meter._seen[("alice", "alpha")] > len(body)
