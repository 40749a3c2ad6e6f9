"""One audit log, with the real hub, airlock, workspace and kernel: everything that happened, in order, verified.

A person of their own (`audie`, project `ledger`, budget 1 MiB) goes through
every audited kind of event: operator actions, a failed and a good login, a
spawn that mounts the cohort, an airlock request (checks, two votes, release,
download), then kernel output until the meter suspends them and stops the
workspace. The one log (the enclave's) must hold each, in that order, with the
airlock's entries forwarded by the airlock itself, and `enclave audit verify`
must pass. Then a copy of the installation's audit state is tampered with as
an attacker with file access would, and verify must name the entries.
The last test runs the one log on a real PostgreSQL server, with forwarders racing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import threading

import pytest
from sqlalchemy import create_engine

from egress_review.config import EgressReview
from egress_review.domain.states import RequestState
from egress_review.integration import forward_pending
from egress_review.storage.forwarding import AuditForwarder
from enclave.airlock.forwarding import EnclaveAuditSink
from enclave.airlock.verify import verify_one_log
from enclave.cli.main import main
from enclave.egress.budgets import MIB
from enclave.metering import EgressMeter
from enclave.operations import datasets, people, projects
from enclave.settings import EnclaveSettings
from enclave.state import audit
from enclave.state.audit_anchor import anchor_paths
from enclave.state.audit_query import AuditFilter, as_record, find_events
from enclave.state.db import open_state_db
from harness.airlock_kit import make_env
from tests.support.airlock import AGGREGATE, AirlockClient, request_for
from tests.support.airlock_states import create_request_at_status
from tests.support.hub import HubUser
from tests.support.kernel import KernelSession
from tests.support.workspaces import Workspace

PERSON, PROJECT = "audie", "ledger"


def _log_since(enclave, seq: int) -> list[dict]:
    with enclave.ctx.db.reading() as session:
        return [as_record(e) for e in find_events(session, AuditFilter()) if e.seq > seq]


def _newest_seq(enclave) -> int:
    with enclave.ctx.db.reading() as session:
        return max((e.seq for e in find_events(session, AuditFilter(since="1h"))), default=0)


def _in_order(log: list[dict], expected: list[tuple[str, str, str]]) -> list[dict]:
    """The entries matching `expected` (action, outcome, target), found in that order in `log`."""
    found, position = [], 0
    for action, outcome, target in expected:
        for index in range(position, len(log)):
            entry = log[index]
            if entry["action"] == action and entry["outcome"] == outcome and entry["target"].startswith(target):
                found.append(entry)
                position = index + 1
                break
        else:
            raise AssertionError(
                f"{action} ({outcome}, {target}) is not in the log after the entries before it; "
                f"the log: {[(e['seq'], e['action'], e['outcome'], e['target']) for e in log]}"
            )
    return found


@pytest.fixture
def cli(enclave, monkeypatch):
    """`enclave ...` as the operator runs it on this installation."""
    monkeypatch.setenv("ENCLAVE_STATE_DIR", enclave.settings.state_dir)
    monkeypatch.setenv("ENCLAVE_INSTANCE", enclave.settings.instance)
    monkeypatch.setenv("ENCLAVE_HUB_INTERNAL_PORT", str(enclave.settings.hub_internal_port))
    return main


def test_everything_audited_is_in_the_one_log_in_order_and_verifies(enclave, cli, capsys, tmp_path, monkeypatch):
    start = _newest_seq(enclave)
    ctx = enclave.ctx
    projects.create_project(ctx, PROJECT)
    projects.set_egress_budget(ctx, PROJECT, MIB)
    datasets.approve_dataset(ctx, PROJECT, "cohort", "v1")
    enclave.passwords[PERSON] = people.add_user(ctx, PERSON, ["analyst"]).initial_password
    people.add_member(ctx, PROJECT, PERSON)

    assert not HubUser(enclave.url, PERSON, "not-the-password").logged_in
    workspace = Workspace(enclave, PERSON, PROJECT)  # logs in, spawns through the hub, opens a kernel
    try:
        workspace.run(f"open('/home/analyst/outbox/by_sex.csv', 'w').write({AGGREGATE!r})")
        analyst = AirlockClient.through_hub(enclave, PERSON)
        rid = request_for(analyst, PROJECT, ["by_sex.csv"])
        (staged,) = analyst.ok("POST", f"api/requests/{rid}/submit")["staged_files"]
        AirlockClient.through_hub(enclave, "rita").ok("POST", f"api/requests/{rid}/votes", json={"decision": "approve"})
        AirlockClient.through_hub(enclave, "rex").ok("POST", f"api/requests/{rid}/votes", json={"decision": "approve"})
        download = analyst.request("GET", f"api/requests/{rid}/files/{staged['id']}/download")
        assert download.status_code == 200 and download.content == AGGREGATE.encode()
        _print_until_suspended(enclave, workspace)
    finally:
        workspace.close()
        enclave.ctx.workspaces.stop(PROJECT, PERSON)  # the operator's stop: a suspended person gets 429 at the edge

    log = _log_since(enclave, start)
    me, request = f"{PROJECT}/{PERSON}", f"{PROJECT}:request/{rid}"
    entries = _in_order(
        log,
        [
            ("project.create", "ok", PROJECT),
            ("dataset.approve", "ok", PROJECT),
            ("member.add", "ok", me),
            ("login", "refused", PERSON),
            ("login", "ok", PERSON),
            ("workspace.start", "ok", me),
            ("egress.request.created", "ok", request),
            ("egress.group.saved", "ok", request),
            ("egress.file.added", "ok", request),
            ("egress.request.submitted", "ok", request),
            ("egress.vote.cast", "ok", request),
            ("egress.vote.cast", "ok", request),
            ("egress.request.approved", "ok", request),
            ("egress.request.released", "ok", request),
            ("egress.file.downloaded", "ok", request),
            ("metering.alert", "ok", me),
            ("metering.exceeded", "refused", me),
            ("person.suspended", "ok", PERSON),
            ("workspace.stop", "ok", me),
        ],
    )
    by_action = {e["action"]: e for e in entries}
    assert by_action["workspace.start"]["details"]["datasets"] == ["cohort@v1"]
    submitted = by_action["egress.request.submitted"]["details"]
    assert submitted["source"] == "egress-review" and isinstance(submitted["airlock_id"], int)
    assert set(submitted["details"]["files"][0]["verdicts"]) >= {"file_type", "participant_identifiers"}
    assert {e["actor"] for e in entries if e["action"] == "egress.vote.cast"} == {"rita", "rex"}
    airlock_ids = [e["details"]["airlock_id"] for e in log if e["action"].startswith("egress.")]
    assert airlock_ids == sorted(set(airlock_ids)), "each airlock entry once, in the airlock's order"

    assert cli(["audit", "verify"]) == 0
    assert "The audit log is intact" in capsys.readouterr().out
    assert cli(["audit", "access", "--dataset", "cohort", "--user", PERSON]) == 0
    assert [line.split()[1:] for line in capsys.readouterr().out.splitlines()] == [[PERSON, PROJECT, "cohort@v1"]]
    assert cli(["audit", "show", "--project", PROJECT, "--event", "egress.", "--json"]) == 0
    shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["action"] for e in shown][:4] == [
        "egress.request.created",
        "egress.group.saved",
        "egress.file.added",
        "egress.request.submitted",
    ]

    # An attacker with file access edits the vote that released the file, and cuts the newest entries.
    copy = _copy_audit_state(enclave, tmp_path / "copy")
    vote = by_action["egress.vote.cast"]["details"]["airlock_id"]
    newest = _newest_seq(enclave)
    _tamper(
        copy / "airlock" / "egress-review.sqlite",
        "audit_log",
        f"UPDATE audit_log SET details = replace(details, 'approve', 'reject') WHERE id = {vote}",
    )
    _tamper(copy / "enclave.sqlite", "audit_events", f"DELETE FROM audit_events WHERE seq > {newest - 2}")
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(copy))
    assert cli(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"airlock entry {vote}: edited" in out
    assert f"enclave entry {newest - 1}: deleted" in out


def _print_until_suspended(enclave, workspace) -> None:
    """Real kernel output, counted by a meter as the edge counts it, until the budget stops the person."""
    behind_the_edge = f"{enclave.inner_url}/user/{PERSON}/{PROJECT}"
    kernel = KernelSession(behind_the_edge, {"Authorization": f"token {workspace.token}"})
    meter = EgressMeter(enclave.settings)

    async def relay_until_cut() -> None:
        for _ in range(10):
            out = kernel.run("print('x' * 300_000)")
            if not meter.count(PERSON, PROJECT, len(out), "kernel"):
                break
        await meter.close()

    try:
        asyncio.run(relay_until_cut())
    finally:
        kernel.close()


def _copy_audit_state(enclave, folder):
    """A consistent copy of the two databases and the anchor, as they stood at one moment."""
    state = enclave.settings.state_path
    (folder / "airlock").mkdir(parents=True)
    for relative in ("enclave.sqlite", "airlock/egress-review.sqlite"):
        with sqlite3.connect(state / relative) as source, sqlite3.connect(folder / relative) as target:
            source.backup(target)
    with sqlite3.connect(folder / "enclave.sqlite") as db:
        newest = db.execute("SELECT max(seq) FROM audit_events").fetchone()[0]
    (anchor,) = anchor_paths(enclave.settings.database_url)
    (folder / "audit").mkdir()
    # Lines for entries committed after the backup belong to a later moment.
    lines = [line for line in anchor.read_text().splitlines() if json.loads(line)["seq"] <= newest]
    (folder / "audit" / "anchor").write_text("\n".join(lines) + "\n")
    shutil.copymode(anchor, folder / "audit" / "anchor")
    return folder


def _tamper(path, table, statement) -> None:
    with sqlite3.connect(path) as db:
        for trigger in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)):
            db.execute(f"DROP TRIGGER {trigger[0]}")
        db.execute(statement)


# --- the same log on PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def enclave_on_postgres(postgres_url, tmp_path, monkeypatch):  # postgres_url: tests/support/postgres.py
    """An installation whose state database is a fresh PostgreSQL database; the airlock's stays SQLite."""
    name = f"enclave_{tmp_path.name.lower().replace('-', '_')[-40:]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ENCLAVE_DB_URL", postgres_url.rsplit("/", 1)[0] + f"/{name}")
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    settings = EnclaveSettings()
    settings.prepare_state_dir()
    yield settings


def test_the_one_log_on_postgresql_forwards_once_and_catches_a_cut(enclave_on_postgres, capsys):
    settings = enclave_on_postgres
    db = open_state_db(settings.database_url)
    with db.transaction() as session:
        audit.record(session, actor="op", action="project.create", target="alpha")
    root = settings.state_path / "airlock"
    root.mkdir()
    airlock = make_env(root, db_url=EgressReview(data_dir=str(root)).db_url)
    forwarder = AuditForwarder(airlock.db, EnclaveAuditSink(settings))
    forwarder.start()
    try:
        create_request_at_status(airlock, RequestState.RELEASED)
        # Forwarders racing in other threads (the CLI's catch-up, a second airlock) add nothing twice.
        racers = [
            threading.Thread(target=forward_pending, args=(airlock.db, EnclaveAuditSink(settings))) for _ in range(3)
        ]
        for racer in racers:
            racer.start()
        create_request_at_status(airlock, RequestState.SUBMITTED)
        for racer in racers:
            racer.join()
    finally:
        forwarder.stop()
        airlock.db.dispose()
    with db.transaction() as session:
        audit.record(session, actor="op", action="project.suspend", target="alpha")
    verdict = verify_one_log(settings)
    assert verdict.problems == [] and verdict.enclave_entries == 2 + verdict.airlock_entries
    assert (settings.state_path / "audit" / "anchor").exists()

    with db.engine.begin() as conn:  # the attacker: drop the guard, cut off the newest entry
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_change ON audit_events")
        conn.exec_driver_sql("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"enclave entry {verdict.enclave_entries}: deleted" in out
