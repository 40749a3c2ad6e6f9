"""The published seam (egress_review.integration): the forwarded entry's versioned format, its hash, the
read-only audit reader and the hub service definition, as its docstring writes them down."""

import hashlib
import json
import sqlite3

import pytest

from egress_review.domain.states import RequestState
from egress_review.integration import (
    FORMAT_VERSION,
    AuditReader,
    ForwardedEntry,
    hub_service_definition,
    pending_entries,
)
from harness.airlock_kit import make_env
from tests.support.airlock_states import create_request_at_status


@pytest.fixture
def airlock(tmp_path):
    env = make_env(tmp_path, db_url=f"sqlite:///{tmp_path / 'egress-review.sqlite'}")
    create_request_at_status(env, RequestState.SUBMITTED)
    yield env
    env.db.dispose()


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_each_forwarded_entry_carries_its_format_version_and_survives_the_round_trip(airlock):
    entries = pending_entries(airlock.db, 0)
    assert entries and all(e["format_version"] == FORMAT_VERSION == 1 for e in entries)
    assert {e["project"] for e in entries} == {"proj-a"}
    assert [ForwardedEntry.from_dict(e).to_dict() for e in entries] == entries


def test_the_hash_is_sha256_of_the_canonical_json_the_contract_describes(airlock):
    genesis = "0" * 64
    previous = genesis
    for data in pending_entries(airlock.db, 0):
        content = {k: data[k] for k in ("prev_hash", "at", "actor", "event", "outcome", "request_id")}
        content["details"] = _canonical(data["details"])
        assert data["entry_hash"] == hashlib.sha256(_canonical(content).encode()).hexdigest()
        assert data["prev_hash"] == previous
        assert ForwardedEntry.from_dict(data).computed_hash() == data["entry_hash"]
        previous = data["entry_hash"]


def test_a_dict_without_a_version_is_version_1_and_an_unknown_version_is_refused(airlock):
    entry = pending_entries(airlock.db, 0)[0]
    unversioned = {k: v for k, v in entry.items() if k != "format_version"}
    assert ForwardedEntry.from_dict(unversioned) == ForwardedEntry.from_dict(entry)
    with pytest.raises(ValueError, match="format 2 is unknown"):
        ForwardedEntry.from_dict({**entry, "format_version": 2})
    # A field a newer writer adds and this reader does not know is ignored (same version).
    assert ForwardedEntry.from_dict({**entry, "added_later": True}) == ForwardedEntry.from_dict(entry)


def test_the_reader_reads_the_chain_and_sees_an_edited_entry(airlock, tmp_path):
    assert AuditReader.open(tmp_path / "never-ran") is None
    reader = AuditReader.open(tmp_path)
    try:
        chain = reader.chain()
        assert [link.id for link in chain] == [e["id"] for e in pending_entries(airlock.db, 0)]
        assert all(link.hash_holds for link in chain)
        with sqlite3.connect(tmp_path / "egress-review.sqlite") as conn:
            conn.execute("DROP TRIGGER audit_log_no_update")
            conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
        assert [link.id for link in reader.chain() if not link.hash_holds] == [2]
    finally:
        reader.close()


def test_the_service_definition_names_the_hosts_implementations_of_the_protocols():
    command = hub_service_definition(10101, project_directory="host.Directory", audit_sink="host.Sink")["command"]
    assert command[1:] == [
        "-m",
        "egress_review",
        "--EgressReview.project_directory_class=host.Directory",
        "--EgressReview.audit_sink_class=host.Sink",
    ]
    assert hub_service_definition(10101)["command"][1:] == ["-m", "egress_review"]
