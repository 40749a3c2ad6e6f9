"""EgressMeter: counting against the daily budget, as the edge calls it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from enclave.metering import CHANNELS, EgressMeter


@pytest.fixture
def small_budget(settings):
    settings.metering_daily_budget = 1000
    return settings


def test_count_allows_until_the_budget_is_used_up(small_budget):
    meter = EgressMeter(small_budget)
    assert meter.count("alice", "alpha", 600, "kernel") is True
    assert not meter.blocked("alice", "alpha")
    assert meter.count("alice", "alpha", 400, "terminal") is False
    assert meter.blocked("alice", "alpha")
    assert meter.count("alice", "alpha", 1, "kernel") is False


def test_budgets_are_per_user_and_project(small_budget):
    meter = EgressMeter(small_budget)
    assert meter.count("alice", "alpha", 1000, "kernel") is False
    assert meter.count("alice", "beta", 10, "kernel") is True
    assert meter.count("bob", "alpha", 10, "kernel") is True
    assert not meter.blocked("bob", "alpha")


def test_unknown_channel_is_refused(small_budget):
    meter = EgressMeter(small_budget)
    with pytest.raises(ValueError, match="unknown metering channel"):
        meter.count("alice", "alpha", 1, "static")
    assert CHANNELS == {"kernel", "terminal", "contents", "app", "other-api"}


def test_default_budget_is_64_mib(settings, monkeypatch):
    assert settings.metering_daily_budget == 64 * 1024 * 1024


def test_start_and_close(small_budget):
    async def run():
        meter = EgressMeter(small_budget, flush_interval=0.01)
        await meter.start()
        assert meter.count("alice", "alpha", 10, "contents")
        await asyncio.sleep(0.03)
        await meter.close()

    asyncio.run(run())
