"""The meter's write-ahead journal: a count is on disk before its bytes go out, and an edge killed between two
flushes loses none (the next edge adds it to the ledger), with the real state database (SQLite) and a real
process killed with SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from enclave.metering import CountJournal, EgressMeter
from enclave.operations import people, projects
from enclave.state.models import EgressUsage

TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture
def alice(ctx):
    projects.create_project(ctx, "alpha")
    people.add_user(ctx, "alice", ["analyst"])
    people.add_member(ctx, "alpha", "alice")
    return ctx


def raw_in_ledger(ctx) -> int:
    with ctx.db.reading() as session:
        return sum(session.execute(select(EgressUsage.raw_bytes).where(EgressUsage.user == "alice")).scalars())


def journal_files(folder) -> list:
    return sorted(folder.glob("*.journal"))


def test_a_count_is_in_the_journal_before_the_meter_says_send(alice, tmp_path):
    journal = CountJournal(tmp_path / "journal")
    meter = EgressMeter(alice.settings, db=alice.db, workspaces=alice.workspaces, journal=journal)
    assert meter.count("alice", "alpha", 300, "kernel")
    (only,) = journal_files(tmp_path / "journal")
    assert only.read_text() == f'["{TODAY}","alice","alpha","kernel",300,300]\n'
    assert raw_in_ledger(alice) == 0  # not flushed yet: the journal is the only record


def test_a_flush_deletes_what_the_ledger_committed_and_a_clean_stop_leaves_nothing(alice, tmp_path):
    folder = tmp_path / "journal"
    meter = EgressMeter(alice.settings, db=alice.db, workspaces=alice.workspaces, journal=CountJournal(folder))

    async def run():
        await meter.start()
        meter.count("alice", "alpha", 300, "kernel")
        await meter.flush()
        assert raw_in_ledger(alice) == 300
        assert [p.read_text() for p in journal_files(folder)] == [""]  # only the new, empty file
        meter.count("alice", "alpha", 200, "kernel")
        await meter.close()

    asyncio.run(run())
    assert raw_in_ledger(alice) == 500
    assert journal_files(folder) == []


def test_counts_stay_in_the_journal_while_the_ledger_cannot_be_written(alice, tmp_path):
    folder = tmp_path / "journal"
    meter = EgressMeter(alice.settings, db=alice.db, workspaces=alice.workspaces, journal=CountJournal(folder))
    meter.count("alice", "alpha", 300, "kernel")

    def broken(batch):
        raise OSError("disk gone")

    meter._write = broken
    asyncio.run(meter.flush())
    assert sum(len(p.read_text().splitlines()) for p in journal_files(folder)) == 1  # kept, sealed
    asyncio.run(meter.close())  # still failing: the file waits for the next edge
    assert len(journal_files(folder)) == 2

    survivor = EgressMeter(alice.settings, db=alice.db, workspaces=alice.workspaces, journal=CountJournal(folder))

    async def run():
        await survivor.start()
        await survivor.close()

    asyncio.run(run())
    assert raw_in_ledger(alice) == 300
    assert journal_files(folder) == []


KILLED_EDGE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from enclave.metering import CountJournal
    journal = CountJournal(Path(sys.argv[1]))
    for _ in range(5):
        journal.append((sys.argv[2], "alice", "alpha", "kernel"), 1000, 1200)
    print("counted", flush=True)
    time.sleep(600)
    """
)


def test_an_edge_killed_between_flushes_loses_no_count(alice, tmp_path):
    folder = tmp_path / "journal"
    edge = subprocess.Popen([sys.executable, "-c", KILLED_EDGE, str(folder), TODAY], stdout=subprocess.PIPE, text=True)
    try:
        assert edge.stdout.readline().strip() == "counted"
        # While that edge lives, its journal is its own: a second edge leaves it alone.
        peek = CountJournal(folder)
        assert peek.adopt_orphans() == {}
        peek.close(ledger_has_all=True)
        edge.send_signal(signal.SIGKILL)
        edge.wait(30)
    finally:
        edge.kill()
        edge.stdout.close()

    next_edge = EgressMeter(alice.settings, db=alice.db, workspaces=alice.workspaces, journal=CountJournal(folder))

    async def run():
        await next_edge.start()
        await next_edge.close()

    asyncio.run(run())
    with alice.db.reading() as session:
        (row,) = session.execute(select(EgressUsage).where(EgressUsage.user == "alice")).scalars()
        assert (row.day, row.project, row.channel, row.bytes, row.raw_bytes) == (TODAY, "alpha", "kernel", 5000, 6000)
    assert journal_files(folder) == []


def test_a_journal_that_cannot_be_written_refuses_the_data(alice, tmp_path):
    journal = CountJournal(tmp_path / "journal")
    meter = EgressMeter(alice.settings, db=alice.db, workspaces=alice.workspaces, journal=journal)
    assert meter.count("alice", "alpha", 10, "kernel")
    journal._fd = -1  # the file is gone from under the meter (e.g. a full or failed disk)
    assert not meter.count("alice", "alpha", 10, "kernel")
    assert meter.blocked("alice", "alpha")
