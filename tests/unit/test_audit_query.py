"""Answering questions from the audit log: filters, export, and who accessed which dataset."""

import json
import re

import pytest

from enclave.cli.main import main
from enclave.errors import InvalidInput
from enclave.state import audit
from enclave.state.audit_query import AuditFilter, dataset_access, find_events


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
    assert _actions(log, user="alice") == [("op", "member.add"), ("alice", "login"), ("alice", "workspace.start")]


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


def test_filter_by_outcome_and_a_span_back_from_now(log):
    with log.db.transaction() as session:
        audit.record(session, actor="mallory", action="login", target="mallory", outcome="refused")
    assert _actions(log, outcome="refused") == [("mallory", "login")]
    assert len(_actions(log, since="1h")) == 7
    assert _actions(log, until="1h") == []


def test_times_with_a_zone_are_compared_in_utc():
    from enclave.state.audit_query import parse_time

    assert parse_time("2026-11-21T10:30:00+01:00") == "2026-11-21T09:30:00.000000+00:00"
    assert parse_time("2026-11-21") == "2026-11-21T00:00:00.000000+00:00"


def test_an_unknown_outcome_is_refused_with_the_choices():
    with pytest.raises(InvalidInput, match="ok, refused, error"):
        AuditFilter(outcome="failed")


def test_access_by_user_and_by_project(log):
    with log.db.reading() as session:
        assert [r["dataset"] for r in dataset_access(session, user="bob")] == ["secret@v1"]
        assert [r["user"] for r in dataset_access(session, project="alpha")] == ["alice"]


def test_show_json_and_export_write_one_event_per_line(log, settings, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ENCLAVE_STATE_DIR", settings.state_dir)
    monkeypatch.setenv("ENCLAVE_HUB_INTERNAL_PORT", "1")
    assert main(["audit", "show", "--event", "workspace.", "--json"]) == 0
    shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["target"] for r in shown] == ["alpha/alice", "beta/bob"]
    out = tmp_path / "siem.jsonl"
    assert main(["audit", "export", "--out", str(out), "--since", "24h"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert set(records[0]) == {
        "seq",
        "at",
        "actor",
        "action",
        "target",
        "outcome",
        "details",
        "prev_hash",
        "entry_hash",
    }
    assert out.stat().st_mode & 0o777 == 0o600 and not list(tmp_path.glob(".siem.jsonl.*"))


def test_export_to_a_missing_folder_says_what_to_do(log, settings, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ENCLAVE_STATE_DIR", settings.state_dir)
    assert main(["audit", "export", "--out", str(tmp_path / "nowhere" / "x.jsonl")]) == 3
    assert "does not exist" in capsys.readouterr().err


def test_access_command_answers_who_had_a_dataset(log, settings, monkeypatch, capsys):
    monkeypatch.setenv("ENCLAVE_STATE_DIR", settings.state_dir)
    assert main(["audit", "access", "--dataset", "cohort"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.split()[1:] == ["alice", "alpha", "cohort@v1"]


def test_show_puts_time_actor_event_outcome_and_reason_first_and_fits_the_terminal(settings, monkeypatch, capsys):
    from enclave.cli.main import main
    from enclave.state.db import StateDB

    monkeypatch.setenv("ENCLAVE_STATE_DIR", settings.state_dir)
    monkeypatch.setenv("COLUMNS", "140")
    with StateDB(settings.database_url).transaction() as session:
        audit.record(
            session,
            actor="edge",
            action="edge.refused",
            target="/user/alice/alpha/files/x",
            outcome="refused",
            details={
                "reason": "closed-route",
                "client": "10.0.0.1",
                "method": "GET",
                "route": "/user/alice/alpha/files/" + "x" * 300,
            },
        )
    assert main(["audit", "show"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert len(line) == 140 and line.endswith("…")
    assert re.match(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  edge +edge\.refused +refused +closed-route · "
        r"/user/alice/alpha/files/x+ · client=",
        line,
    )
    assert main(["audit", "show", "--long"]) == 0
    long_line = capsys.readouterr().out.splitlines()[-1]
    assert "x" * 300 in long_line and "(seq 1, at " in long_line and "hash " in long_line
