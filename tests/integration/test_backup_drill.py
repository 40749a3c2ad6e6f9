"""The backup drill, on the real running enclave: back up while submissions arrive, restore elsewhere, and find
the log verifying, every released file downloading with its recorded hash, and nothing acknowledged before the
backup missing."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time

from egress_review.app import build_airlock
from egress_review.config import EgressReview
from egress_review.domain.permissions import Principal, Scope
from enclave import backup
from enclave.airlock.directory import EnclaveProjectDirectory
from enclave.airlock.forwarding import catch_up
from enclave.airlock.verify import verify_one_log
from enclave.settings import EnclaveSettings
from tests.support.airlock import AirlockClient, request_for

PROJECT = "alpha"
ARRIVING = 10  # submissions made while the backup runs


def _submit(analyst: AirlockClient, path: str) -> str:
    rid = request_for(analyst, PROJECT, [path])
    analyst.ok("POST", f"api/requests/{rid}/submit")
    return rid


def test_a_backup_taken_while_submissions_arrive_restores_whole(enclave, alice_alpha, tmp_path, monkeypatch):
    names = [f"drill/count_{n}.csv" for n in range(ARRIVING + 1)]
    alice_alpha.run(
        "import os\nos.makedirs('/home/analyst/outbox/drill', exist_ok=True)\n"
        f"for name in {names!r}:\n"
        "    open('/home/analyst/outbox/' + name, 'w').write('group,n\\nA,120\\nB,240\\n')\n"
    )
    analyst = AirlockClient.through_hub(enclave, "alice")
    try:
        _drill(enclave, alice_alpha, analyst, names, tmp_path, monkeypatch)
    finally:  # the outbox is shared with later tests: leave it as found
        alice_alpha.run("import shutil; shutil.rmtree('/home/analyst/outbox/drill', ignore_errors=True)")


def _drill(enclave, alice_alpha, analyst, names, tmp_path, monkeypatch):
    # Released before the backup: its file must download from the restored installation, byte for byte.
    released = _submit(analyst, names[0])
    for reviewer in ("rita", "rex"):
        AirlockClient.through_hub(enclave, reviewer).ok(
            "POST", f"api/requests/{released}/votes", json={"decision": "approve"}
        )
    (staged,) = analyst.ok("GET", f"api/requests/{released}")["staged_files"]
    assert analyst.ok("GET", f"api/requests/{released}")["state"] == "released"

    acknowledged: list[tuple[float, str]] = []  # (when the airlock answered, request id)

    def submissions():
        for name in names[1:]:
            rid = _submit(analyst, name)
            acknowledged.append((time.monotonic(), rid))

    arriving = threading.Thread(target=submissions)
    arriving.start()
    while len(acknowledged) < 3 and arriving.is_alive():
        time.sleep(0.2)
    started = time.monotonic()
    made = backup.back_up(enclave.settings, tmp_path / "backup")
    arriving.join(600)
    assert not arriving.is_alive() and len(acknowledged) == ARRIVING
    before = {rid for at, rid in acknowledged if at < started}
    assert len(before) >= 3 and made.databases == ["enclave", "airlock", "hub"]

    restored = tmp_path / "restored-state"
    backup.restore(tmp_path / "backup", restored)
    with sqlite3.connect(restored / "airlock" / "egress-review.sqlite") as db:
        states = dict(db.execute("SELECT id, state FROM requests").fetchall())
    missing = {rid for rid in before if rid not in states}
    assert not missing, f"acknowledged before the backup, missing after the restore: {missing}"
    assert all(states[rid] == "submitted" for rid in before) and states[released] == "released"

    # The restored installation, as its airlock would serve it (the enclave's directory read from it).
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(restored))
    monkeypatch.setenv("ENCLAVE_DB_URL", f"sqlite:///{restored / 'enclave.sqlite'}")
    settings = EnclaveSettings(state_dir=str(restored), instance=enclave.settings.instance)
    airlock = build_airlock(
        EgressReview(data_dir=str(restored / "airlock"), project_directory_class=EnclaveProjectDirectory)
    )
    download = airlock.releases.download(Principal("alice", frozenset({Scope.REQUEST.value})), released, staged["id"])
    assert download.sha256 == staged["sha256"] == hashlib.sha256(download.content).hexdigest()

    catch_up(settings)  # what the restored airlock does when it starts: forward what was not forwarded yet
    verdict = verify_one_log(settings)
    assert verdict.intact, verdict.problems
    assert verdict.airlock_entries is not None and verdict.airlock_entries > 0
