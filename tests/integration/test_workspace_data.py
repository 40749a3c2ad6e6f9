"""A workspace sees its project's approved data, read-only, and nothing else."""

import json

import polars as pl

from enclave.extracts.materialise import CANARIES
from enclave.operations import datasets
from tests.support.workspaces import Workspace

COHORT = "/data/cohort/v1"
PARTICIPANTS = 2_000  # seeded by tests/support/enclave.py


def _source_ids(enclave) -> set[int]:
    source = enclave.settings.state_path.parent / "data" / "cohort" / "v1" / "participants.parquet"
    return set(pl.read_parquet(source)["participant_id"].to_list())


def test_approved_dataset_is_readable_from_the_kernel(alice_alpha):
    out = alice_alpha.run(
        "import polars as pl\n"
        f"print(pl.scan_parquet('{COHORT}/participants.parquet').select(pl.len()).collect().item())"
    )
    assert out.strip() == str(PARTICIPANTS + CANARIES)


def test_the_workspace_sees_project_pseudonyms_never_source_identifiers(alice_alpha, enclave):
    out = alice_alpha.run(
        "import json, polars as pl\n"
        f"print(json.dumps(pl.read_parquet('{COHORT}/participants.parquet')['participant_id'].to_list()))"
    )
    seen = json.loads(out)
    assert len(set(seen)) == PARTICIPANTS + CANARIES
    assert not set(seen) & _source_ids(enclave)
    assert min(len(str(i)) for i in seen) >= 16


def test_the_mount_source_is_the_projects_extract_not_the_source(alice_alpha, enclave):
    mounts = {m["Destination"]: m["Source"] for m in alice_alpha.container.attrs["Mounts"]}
    assert mounts[COHORT] == str(enclave.settings.state_path / "extracts" / "alpha" / "cohort" / "v1")


def test_a_field_not_approved_is_absent(enclave):
    # gamma's approval is narrowed to one field for this test, then restored.
    datasets.revoke_dataset(enclave.ctx, "gamma", "cohort", "v1")
    datasets.approve_dataset(enclave.ctx, "gamma", "cohort", "v1", fields=["sex"])
    workspace = Workspace(enclave, "dave", "gamma")
    try:
        out = workspace.run(
            "import os, json, pyarrow.parquet as pq\n"
            f"print(json.dumps({{t: pq.read_schema('{COHORT}/' + t).names for t in sorted(os.listdir('{COHORT}'))}}))"
        )
        assert json.loads(out) == {"participants.parquet": ["participant_id", "sex"]}
    finally:
        workspace.stop()
        datasets.revoke_dataset(enclave.ctx, "gamma", "cohort", "v1")
        datasets.approve_dataset(enclave.ctx, "gamma", "cohort", "v1")


def test_home_shared_and_outbox_are_writable(alice_alpha):
    out = alice_alpha.run(
        "import os\n"
        "for folder in ('/home/analyst', '/home/analyst/shared', '/home/analyst/outbox', '/tmp'):\n"
        "    path = os.path.join(folder, 'probe.txt')\n"
        "    open(path, 'w').write('ok'); os.remove(path)\n"
        "    print('ok')\n"
    )
    assert out.split() == ["ok"] * 4


def test_home_is_private_to_the_user_and_project(alice_alpha, carol_alpha):
    alice_alpha.run("open('/home/analyst/alice-note.txt', 'w').write('mine')")
    out = carol_alpha.run("import os; print(os.path.exists('/home/analyst/alice-note.txt'))")
    assert out.strip() == "False"
    # The shared project folder, by contrast, is shared.
    alice_alpha.run("open('/home/analyst/shared/team-note.txt', 'w').write('ours')")
    assert carol_alpha.run("print(open('/home/analyst/shared/team-note.txt').read())").strip() == "ours"
