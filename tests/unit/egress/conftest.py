import pytest

from harness.airlock_kit import make_env


@pytest.fixture
def env(tmp_path):
    e = make_env(tmp_path)
    yield e
    e.db.dispose()
