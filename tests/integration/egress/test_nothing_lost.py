"""Nothing lost: a process killed mid-submission leaves no half-request and no
orphan file; concurrent votes both count; a full disk leaves the request as it was."""

import errno
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from egress_review import staging as staging_mod
from egress_review.app import build_airlock, sweep_staging
from egress_review.config import EgressReview
from egress_review.domain.exceptions import StagingDiskFull
from egress_review.domain.states import RequestState
from egress_review.staging import StagingStore
from egress_review.storage.models import AuditEntry, Release, Request, StagedFile, Vote
from harness.airlock_kit import analyst, make_env, reviewer
from tests.support.airlock_states import create_request_at_status

REPO = Path(__file__).resolve().parents[3]

CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from egress_review import staging
    from egress_review.services.requests import RequestService
    from harness.airlock_kit import analyst, make_env

    root, request_id, where = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    env = make_env(root)
    written = 0
    real_write = staging._write_all

    def write_then_die(fd, data):
        global written
        real_write(fd, data)
        written += len(data)
        if where == "mid-copy" and written >= 3 * 1024 * 1024:
            os.kill(os.getpid(), signal.SIGKILL)

    def die_before_commit(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    staging._write_all = write_then_die
    if where == "before-commit":
        RequestService._record_submission = die_before_commit
    env.airlock.requests.submit(analyst(), request_id)
    print("submission finished: the crash did not happen", flush=True)
    """
)


@pytest.mark.parametrize("where", ["mid-copy", "before-commit"])
def test_killed_submission_leaves_no_half_request_and_no_orphan_file(tmp_path, where):
    env = make_env(tmp_path)
    big = os.urandom(6 * 1024 * 1024)
    rid = create_request_at_status(env, RequestState.DRAFT, files={"small.csv": "a,b\n1,2\n", "big.bin": big})
    env.db.dispose()
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(tmp_path), rid, where],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,  # where harness/ is
    )
    assert proc.returncode == -9, proc.stdout + proc.stderr
    staging = StagingStore(tmp_path / "staging")
    leftovers = list(staging.tmp.iterdir()) + [p for p in staging.blobs.rglob("*") if p.is_file()]
    assert leftovers, "the crash should have left something for the sweep to clean"

    env = make_env(tmp_path)  # the service restarts: migrations, then the sweep
    sweep_staging(env.db, staging)
    with env.db.read() as s:
        assert s.get(Request, rid).state == "draft"
        assert s.execute(select(func.count()).select_from(StagedFile)).scalar() == 0
    assert list(staging.tmp.iterdir()) == []
    assert [p for p in staging.blobs.rglob("*") if p.is_file()] == []
    env.airlock.requests.submit(analyst(), rid)  # and the analyst can simply submit again
    with env.db.read() as s:
        assert s.get(Request, rid).state == "submitted"


VOTE_CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from egress_review.services.releases import ReleaseService
    from egress_review.services.reviews import ReviewService
    from harness.airlock_kit import make_env, reviewer

    root, request_id, where = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    env = make_env(root)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if where == "before-commit":
        ReviewService._complete_review = die  # the deciding vote, inside its transaction
    else:
        ReleaseService._release = die  # after the deciding vote's commit, before the release
    env.airlock.reviews.vote(reviewer("ravi"), request_id, "approve")
    print("vote finished: the crash did not happen", flush=True)
    """
)


@pytest.mark.parametrize("where", ["before-commit", "before-release"])
def test_an_airlock_killed_mid_vote_loses_nothing_and_releases_at_its_next_start(tmp_path, where):
    """The deciding vote is either not recorded at all (the reviewer votes again) or recorded whole, and then
    the airlock releases the approved request as it starts again, as its process builds itself."""
    env = make_env(tmp_path)
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.airlock.reviews.vote(reviewer("rita"), rid, "approve")
    env.db.dispose()
    proc = subprocess.run(
        [sys.executable, "-c", VOTE_CRASH_SCRIPT, str(tmp_path), rid, where],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == -9, proc.stdout + proc.stderr
    env = make_env(tmp_path)
    with env.db.read() as s:
        expected = "submitted" if where == "before-commit" else "approved"
        assert s.get(Request, rid).state == expected
        votes = {v.reviewer for v in s.execute(select(Vote).where(Vote.request_id == rid)).scalars()}
        assert votes == ({"rita"} if where == "before-commit" else {"rita", "ravi"})
    env.db.dispose()

    restarted = build_airlock(EgressReview(data_dir=str(tmp_path), db_url=f"sqlite:///{tmp_path / 'egress.sqlite'}"))
    if where == "before-commit":
        assert restarted.reviews.vote(reviewer("ravi"), rid, "approve") == "released"  # simply votes again
    with restarted.ctx.db.read() as s:
        assert s.get(Request, rid).state == "released"
        assert s.execute(select(func.count()).select_from(Release).where(Release.request_id == rid)).scalar() == 1
        assert s.execute(select(func.count()).select_from(Vote).where(Vote.request_id == rid)).scalar() == 2
    restarted.ctx.db.dispose()


def test_two_reviewers_voting_at_the_same_moment_in_threads_both_count(env):
    for _ in range(5):
        rid = create_request_at_status(env, RequestState.SUBMITTED)
        barrier = threading.Barrier(2)
        errors = []

        def vote(name):
            barrier.wait()
            try:
                env.airlock.reviews.vote(reviewer(name), rid, "approve")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=vote, args=(n,)) for n in ("rita", "ravi")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        with env.db.read() as s:
            assert s.get(Request, rid).state == "released"
            assert s.execute(select(func.count()).select_from(Vote).where(Vote.request_id == rid)).scalar() == 2


def _vote_in_child(root, rid, name, barrier, results):
    env = make_env(Path(root))
    barrier.wait()
    try:
        results.put((name, env.airlock.reviews.vote(reviewer(name), rid, "approve")))
    except Exception as exc:
        results.put((name, repr(exc)))


def test_two_reviewers_voting_at_the_same_moment_in_two_processes_both_count(tmp_path):
    env = make_env(tmp_path)
    rid = create_request_at_status(env, RequestState.SUBMITTED)
    env.db.dispose()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_vote_in_child, args=(str(tmp_path), rid, n, barrier, results)) for n in ("rita", "ravi")
    ]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    assert sorted(outcomes.values()) == ["released", "submitted"], outcomes
    with env.db.read() as s:
        assert s.get(Request, rid).state == "released"
        assert {v.reviewer for v in s.execute(select(Vote).where(Vote.request_id == rid)).scalars()} == {"rita", "ravi"}


def test_full_disk_during_staging_injected_enospc_leaves_the_request_as_it_was(env, monkeypatch):
    """The one mocked failure: ENOSPC injected at the staging write call."""
    rid = create_request_at_status(env, RequestState.DRAFT, files={"a.csv": "x,y\n", "b.csv": "z,w\n"})
    calls = []

    def full_on_second_file(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        os.write(fd, data)

    monkeypatch.setattr(staging_mod, "_write_all", full_on_second_file)
    with pytest.raises(StagingDiskFull) as err:
        env.airlock.requests.submit(analyst(), rid)
    assert "disk is full" in err.value.message
    with env.db.read() as s:
        assert s.get(Request, rid).state == "draft"
        assert s.execute(select(func.count()).select_from(StagedFile)).scalar() == 0
        refused = s.execute(select(AuditEntry).where(AuditEntry.outcome == "refused")).scalars().all()
    assert [e.event for e in refused] == ["action.refused"]
    assert list(env.staging.tmp.iterdir()) == []
    assert [p for p in env.staging.blobs.rglob("*") if p.is_file()] == []  # the first file's blob was removed too


@pytest.fixture
def tiny_filesystem(tmp_path):
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); the injected-ENOSPC test covers this")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_full_disk_during_staging_on_a_real_full_filesystem(tmp_path, tiny_filesystem):
    env = make_env(tmp_path)
    env.staging = env.airlock.ctx.staging = StagingStore(tiny_filesystem / f"staging-{uuid.uuid4().hex[:6]}")
    rid = create_request_at_status(env, RequestState.DRAFT, files={"big.bin": os.urandom(2 * 1024 * 1024)})
    with pytest.raises(StagingDiskFull):
        env.airlock.requests.submit(analyst(), rid)
    with env.db.read() as s:
        assert s.get(Request, rid).state == "draft"
    assert list(env.airlock.ctx.staging.tmp.iterdir()) == []
    assert os.statvfs(tiny_filesystem).f_bfree > 0  # the partial copy was removed
