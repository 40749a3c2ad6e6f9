"""Changing or widening the cohort data from the workspace.

The project's extract is mounted read-only at /data/cohort/v1; a write must fail with EROFS (the
mount refuses it, whatever the file's permissions say). That the data is readable is shown in
tests/integration/test_workspace_data.py.
"""

COHORT = "/data/cohort/v1"
TABLE = f"{COHORT}/participants.parquet"


def attempt(workspace, code: str) -> str:
    """Run `code` (which acts on `path`) and print WRITTEN, or the errno's name."""
    return workspace.run(
        "import errno, os\n"
        "try:\n" + "".join(f"    {line}\n" for line in code.splitlines()) + "    print('WRITTEN')\n"
        "except OSError as e:\n"
        "    print(errno.errorcode[e.errno])\n"
    ).strip()


def size_and_mtime(workspace) -> str:
    return workspace.run(f"import os; s = os.stat({TABLE!r}); print(s.st_size, s.st_mtime_ns)").strip()


def test_a_new_file_cannot_be_written_into_the_cohort_data(alice_alpha):
    """RT-30: create a file in the cohort data folder."""
    assert attempt(alice_alpha, f"open('{COHORT}/intruder.txt', 'w').write('x')") == "EROFS"
    assert alice_alpha.run(f"import os; print(os.path.exists('{COHORT}/intruder.txt'))").strip() == "False"


def test_a_cohort_table_cannot_be_changed(alice_alpha):
    """RT-31: append to, or truncate, a cohort table in place."""
    before = size_and_mtime(alice_alpha)
    assert attempt(alice_alpha, f"open({TABLE!r}, 'ab').write(b'x')") in ("EROFS", "EACCES")
    assert attempt(alice_alpha, f"os.truncate({TABLE!r}, 0)") in ("EROFS", "EACCES")
    assert size_and_mtime(alice_alpha) == before


def test_a_cohort_table_cannot_be_removed_renamed_or_made_writable(alice_alpha):
    """RT-32: delete, rename or chmod a cohort table."""
    before = size_and_mtime(alice_alpha)
    assert attempt(alice_alpha, f"os.remove({TABLE!r})") == "EROFS"
    assert attempt(alice_alpha, f"os.rename({TABLE!r}, '{COHORT}/moved.parquet')") == "EROFS"
    assert attempt(alice_alpha, f"os.chmod({TABLE!r}, 0o666)") in ("EROFS", "EPERM")
    assert size_and_mtime(alice_alpha) == before


def test_the_cohort_mount_cannot_be_remounted_read_write(alice_alpha):
    """RT-33: remount the cohort data read-write."""
    out = alice_alpha.run(
        "import subprocess\n"
        f"r = subprocess.run(['mount', '-o', 'remount,rw', {COHORT!r}], capture_output=True, text=True)\n"
        "print(r.returncode, repr(r.stderr))\n"
        f"print([l.split()[5] for l in open('/proc/self/mountinfo') if l.split()[4] == {COHORT!r}])\n"
    )
    refusal, options = out.strip().split("\n")
    assert not refusal.startswith("0 ") and "must be superuser" in refusal
    assert options.startswith("['ro")


def test_an_unapproved_dataset_is_absent(alice_alpha, enclave):
    """RT-34: find a dataset approved for another project (beta's 'secret') from alpha's workspace."""
    out = alice_alpha.run("import os; print(sorted(os.listdir('/data')))")
    assert out.strip() == "['cohort']"
    secret_folder = str(enclave.settings.state_path.parent / "data" / "secret")
    out = alice_alpha.run(
        f"mounts = open('/proc/self/mountinfo').read()\nprint({secret_folder!r} in mounts, 'secret' in mounts)"
    )
    assert out.split() == ["False", "False"]


def test_the_cohort_data_is_outside_the_jupyter_root(alice_alpha):
    """RT-35: read /data through the contents API with a path that climbs out of the home folder."""
    reply = alice_alpha.user.http.get(
        f"{alice_alpha.user.server_url('alpha')}/api/contents/../../data",
        headers={"Authorization": f"token {alice_alpha.token}"},
        timeout=30,
    )
    assert reply.status_code in (400, 403, 404)
