"""Secret files, the enclave's (hub tokens, the pseudonym key) and the airlock's (its cookie secret), are made
the same way: folder 0700, file 0600, made once and never overwritten, and a caller racing the first one
reads the same secret, never a partial file. Each check runs on both helpers, on real files."""

from __future__ import annotations

import stat
import threading

import pytest

from egress_review.app import read_or_create_secret
from enclave.extracts.keys import pseudonym_key
from enclave.hub.secrets import operator_token
from enclave.secret_files import read_or_create


def _enclave(path):
    return read_or_create(path, lambda: b"s" * 64 + str(threading.get_ident()).encode())


HELPERS = {"enclave": _enclave, "airlock": read_or_create_secret}


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("helper", HELPERS.values(), ids=HELPERS.keys())
def test_made_once_owner_only_and_kept(tmp_path, helper):
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o755)
    path = folder / "secret"
    first = helper(path)
    assert first and path.read_bytes().strip() == first.strip()
    assert _mode(folder) == 0o700 and _mode(path) == 0o600
    assert helper(path) == first  # kept
    assert [p.name for p in folder.iterdir()] == ["secret"]  # no temporary file left beside it


@pytest.mark.parametrize("helper", HELPERS.values(), ids=HELPERS.keys())
def test_an_existing_secret_is_never_overwritten(tmp_path, helper):
    path = tmp_path / "secret"
    path.write_bytes(b"chosen-by-the-operator")
    assert helper(path) == b"chosen-by-the-operator"
    assert path.read_bytes() == b"chosen-by-the-operator"


@pytest.mark.parametrize("helper", HELPERS.values(), ids=HELPERS.keys())
def test_racing_first_callers_all_get_the_one_secret(tmp_path, helper):
    path = tmp_path / "hub" / "secret"
    start, results = threading.Barrier(16), []

    def call():
        start.wait()
        results.append(helper(path))

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 16 and len(set(results)) == 1 and results[0].strip() == path.read_bytes().strip()
    assert [p.name for p in path.parent.iterdir()] == ["secret"]


def test_the_enclaves_secrets_use_the_one_helper(tmp_path):
    hub = tmp_path / "hub"
    token = operator_token(hub)
    assert len(token) == 64 and operator_token(hub) == token
    key = pseudonym_key(hub)
    assert len(key) == 32 and pseudonym_key(hub) == key
    assert _mode(hub) == 0o700 and all(_mode(p) == 0o600 for p in hub.iterdir())
