import pytest

from harness.airlock_kit import make_env
from tests.support.airlock_app import FakeHub, ServedAirlock


@pytest.fixture
def env(tmp_path):
    e = make_env(tmp_path)
    yield e
    e.db.dispose()


@pytest.fixture
def hub():
    h = FakeHub()
    yield h
    h.stop()


@pytest.fixture
def served(env, hub):
    s = ServedAirlock(env.airlock, hub)
    yield s
    s.stop()
