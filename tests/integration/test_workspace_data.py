"""A workspace sees its project's approved data, read-only, and nothing else."""

import pytest

pytestmark = pytest.mark.integration

COHORT = "/data/cohort/v1"


def test_approved_dataset_is_readable_from_the_kernel(alice_alpha):
    out = alice_alpha.run(
        "import polars as pl\n"
        f"print(pl.scan_parquet('{COHORT}/participants.parquet').select(pl.len()).collect().item())"
    )
    assert out.strip() == "2000"


def test_writing_to_the_approved_dataset_fails(alice_alpha):
    out = alice_alpha.run(
        "import errno\n"
        "for attempt in ('new', 'existing'):\n"
        f"    path = '{COHORT}/' + ('intruder.txt' if attempt == 'new' else 'participants.parquet')\n"
        "    try:\n"
        "        open(path, 'a').write('x')\n"
        "        print(attempt, 'WRITTEN')\n"
        "    except OSError as e:\n"
        "        print(attempt, errno.errorcode[e.errno])\n"
    )
    new, existing = out.split("\n")[:2]
    assert new == "new EROFS"
    assert existing in ("existing EROFS", "existing EACCES")  # file permissions may refuse first
    mount_options = alice_alpha.run(
        "print([l.split()[5] for l in open('/proc/self/mountinfo') if l.split()[4] == '/data/cohort/v1'])"
    )
    assert mount_options.strip().startswith("['ro")


def test_unapproved_dataset_is_absent(alice_alpha, enclave):
    # 'secret' is approved for project beta only; its files are on this host.
    out = alice_alpha.run("import os; print(sorted(os.listdir('/data')))")
    assert out.strip() == "['cohort']"
    secret_folder = str(enclave.settings.state_path.parent / "data" / "secret")
    out = alice_alpha.run(
        "mounts = open('/proc/self/mountinfo').read()\n"
        f"print({secret_folder!r} in mounts, 'secret' in mounts)"
    )
    assert out.split() == ["False", "False"]


def test_dataset_is_outside_the_jupyter_root_and_file_routes(alice_alpha):
    # The Jupyter root is the home folder; its contents API cannot reach /data.
    reply = alice_alpha.user.http.get(
        f"{alice_alpha.user.server_url('alpha')}/api/contents/../../data",
        headers={"Authorization": f"token {alice_alpha.token}"}, timeout=30,
    )
    assert reply.status_code in (400, 403, 404)


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
