"""Answering questions from the audit log: filters, export, and who accessed which dataset."""

import json

import pytest

from enclave.cli.main import main
from enclave.errors import InvalidInput
from enclave.state import audit
from enclave.state.audit_query import AuditFilter, dataset_access, find_events

pytestmark = pytest.mark.unit


@pytest.fixture
def log(ctx):
    events = [
        ("op", "project.create", "alpha", {}),
        ("op", "member.add", "alpha/alice", {}),
        ("alice", "login", "alice", {}),
        ("alice", "workspace.start", "alpha/alice", {"datasets": ["cohort@v1"], "container": "c1"}),
        ("bob", "workspace.start", "beta/bob", {"datasets": ["secret@v1"], "container": "c2"}),
        ("op", "dataset.approve", "alphabet:cohort@v1", {}),
    ]
    for actor, action, target, details in events:
        with ctx.db.transaction() as session:
            audit.record(session, actor=actor, action=action, target=target, details=details)
    return ctx


def _actions(ctx, **query):
    with ctx.db.reading() as session:
        return [(e.actor, e.action) for e in find_events(session, AuditFilter(**query))]


def test_filter_by_user_finds_what_they_did_and_what_was_done_to_them(log):
    assert _actions(log, user="alice") == [
        ("op", "member.add"), ("alice", "login"), ("alice", "workspace.start")]


def test_filter_by_project_does_not_match_a_longer_name(log):
    assert [a for _, a in _actions(log, project="alpha")] == ["project.create", "member.add", "workspace.start"]


def test_filter_by_action_prefix_and_time(log):
    assert _actions(log, action="workspace.") == [("alice", "workspace.start"), ("bob", "workspace.start")]
    assert _actions(log, since="2999-01-01") == []
    assert len(_actions(log, until="2999-01-01")) == 6


def test_bad_time_is_refused_with_an_example():
    with pytest.raises(InvalidInput, match="2026-11-21"):
        AuditFilter(since="yesterday")


def test_who_accessed_which_dataset(log):
    with log.db.reading() as session:
        rows = dataset_access(session, "cohort")
    assert [(r["user"], r["project"], r["dataset"]) for r in rows] == [("alice", "alpha", "cohort@v1")]


def test_export_writes_verifiable_json_lines(log, tmp_path, monkeypatch):
    monkeypatch.setenv("ENCLAVE_STATE_DIR", log.settings.state_dir)
    out = tmp_path / "audit.jsonl"
    assert main(["audit", "export", "--project", "beta", "--out", str(out)]) == 0
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["action"] == "workspace.start" and record["target"] == "beta/bob"
    assert len(record["entry_hash"]) == 64 and len(record["prev_hash"]) == 64
