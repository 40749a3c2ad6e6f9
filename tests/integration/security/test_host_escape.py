"""Escaping the container: the Docker socket, host paths, the airlock's files, root.

Each attempt runs in alice's real workspace kernel, as the analyst's code would.
"""

import json

import pytest


def test_no_docker_or_containerd_socket_is_reachable(alice_alpha):
    """RT-20: find the Docker socket (or any container engine's) anywhere in the workspace."""
    out = alice_alpha.run(
        "import os, stat\n"
        "print([p for p in ('/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock')"
        " if os.path.exists(p)])\n"
        "sockets = []\n"
        "for top in ('/run', '/var/run', '/tmp', '/home', '/data', '/'):\n"
        "    for root, dirs, files in os.walk(top):\n"
        "        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/dev')]\n"
        "        for f in files:\n"
        "            try:\n"
        "                if stat.S_ISSOCK(os.lstat(os.path.join(root, f)).st_mode): sockets.append(f)\n"
        "            except OSError: pass\n"
        "print(sorted(set(sockets)))\n"
    )
    named, sockets = out.split("\n")[:2]
    assert named == "[]"
    assert "docker" not in sockets and "containerd" not in sockets


def test_no_host_path_is_visible(alice_alpha, enclave):
    """RT-21: look for the host's files: the enclave's state, the source datasets, Docker's own folders."""
    state = enclave.settings.state_path
    host_paths = [
        str(state),
        str(state / "enclave.sqlite"),
        str(state.parent / "data" / "cohort"),
        "/var/lib/docker",
        "/var/lib/containerd",
        "/etc/docker",
    ]
    out = alice_alpha.run(f"import os; print([p for p in {host_paths!r} if os.path.exists(p)])")
    assert out.strip() == "[]"
    # The container's mounts are folders of this installation's state only, never a host system folder.
    mounts = {m["Destination"]: m["Source"] for m in alice_alpha.container.attrs["Mounts"]}
    assert all(source.startswith(str(state)) for source in mounts.values()), mounts
    assert not any(
        source in ("/", "/etc", "/var", "/proc", "/sys", "/usr", "/boot", "/dev", "/lib", str(state))
        for source in mounts.values()
    )


def test_the_airlocks_database_and_staging_folder_are_not_in_the_workspace(alice_alpha, enclave):
    """RT-22: reach the egress service's database or staging folder by path from the workspace."""
    airlock = enclave.settings.state_path / "airlock"
    assert (airlock / "egress-review.sqlite").exists()  # they exist on the host
    out = alice_alpha.run(
        "import os\n"
        f"print(os.path.exists({str(airlock)!r}))\n"
        "found = []\n"
        "for root, dirs, files in os.walk('/'):\n"
        "    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/dev', '/usr', '/opt')]\n"
        "    names = ('egress-review.sqlite', 'staging', 'airlock')\n"
        "    found += [os.path.join(root, n) for n in dirs + files if n in names]\n"
        "print(found)\n"
    )
    assert out.split("\n")[:2] == ["False", "[]"]


def test_the_pseudonym_key_and_lists_are_not_in_the_workspace(alice_alpha, enclave):
    """RT-23: find the pseudonym key (pseudonyms back to identifiers) or the enclave's, hub's or airlock's database."""
    key = enclave.settings.state_path / "hub" / "pseudonym.key"
    assert key.exists()
    secrets = ("pseudonym.key", "enclave.sqlite", "jupyterhub.sqlite", "egress-review.sqlite")
    out = alice_alpha.run(
        "import os\n"
        f"SECRETS = {secrets!r}\n"
        "found = []\n"
        "for root, dirs, files in os.walk('/'):\n"
        "    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/dev', '/usr', '/opt')]\n"
        "    found += [os.path.join(root, n) for n in files if n in SECRETS]\n"
        "print(found)\n"
    )
    assert out.strip() == "[]"


def test_setuid_binaries_do_not_give_root(alice_alpha):
    """RT-24: run every setuid binary in the image (`find / -perm -4000`) and look for root."""
    out = alice_alpha.run(
        "import json, subprocess\n"
        "found = subprocess.run(['find', '/', '-xdev', '-perm', '-4000', '-type', 'f'], capture_output=True,"
        " text=True).stdout.split()\n"
        "seen = {}\n"
        "for binary in found:\n"
        "    # Popen returns once exec has happened; the child (running or a zombie) keeps its credentials\n"
        "    # in /proc until it is reaped, so its effective uid is read before waiting.\n"
        "    p = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)\n"
        "    uids = [l.split()[1:] for l in open(f'/proc/{p.pid}/status') if l.startswith('Uid:')][0]\n"
        "    p.stdin.close(); p.kill(); p.wait()\n"
        "    seen[binary] = uids\n"
        "print(json.dumps(seen))\n"
    )
    seen = json.loads(out)
    assert seen, "the image has no setuid binary: update this test's expectation and docs/security.md"
    # real, effective, saved and filesystem uid all stay the analyst's: no-new-privileges ignores the bit.
    assert {binary: uids for binary, uids in seen.items() if uids != ["1000"] * 4} == {}


def test_sudo_is_absent_and_su_is_refused(alice_alpha):
    """RT-25: become root with sudo or su."""
    out = alice_alpha.run(
        "import shutil, subprocess\n"
        "print(shutil.which('sudo'))\n"
        "r = subprocess.run(['su', '-c', 'id -u', 'root'], input='\\n', capture_output=True, text=True, timeout=30)\n"
        "print(r.returncode, repr(r.stdout + r.stderr))\n"
    )
    sudo, su = out.split("\n")[:2]
    assert sudo == "None"
    code, text = su.split(" ", 1)
    assert code != "0" and "Authentication failure" in text and "'0\\n'" not in text


def test_the_kernel_runs_with_no_capabilities(alice_alpha):
    """RT-26: look for any capability (effective, permitted, bounding, ambient) to use as root would."""
    status = alice_alpha.run("print(open('/proc/self/status').read())")
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert fields[name].strip() == "0000000000000000", name
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"  # a seccomp filter is on (the workspace profile: test_hardening.py)


@pytest.mark.parametrize(
    "command, refusal",
    [
        (["mount", "-t", "tmpfs", "none", "/tmp"], "must be superuser"),
        (["mount", "-o", "remount,rw", "/"], "must be superuser"),
        (["chroot", "/", "true"], "Operation not permitted"),
        (["unshare", "-r", "true"], "Operation not permitted"),
        (["unshare", "-m", "true"], "Operation not permitted"),
    ],
    ids=["mount", "remount-root", "chroot", "unshare-user", "unshare-mount"],
)
def test_mount_chroot_and_namespaces_are_refused(alice_alpha, command, refusal):
    """RT-27: mount a file system, chroot, or make a user or mount namespace (the first steps of most escapes)."""
    out = alice_alpha.run(
        "import subprocess\n"
        f"r = subprocess.run({command!r}, capture_output=True, text=True, timeout=30)\n"
        "print(r.returncode); print(r.stderr.strip())\n"
    )
    code, message = out.split("\n", 1)
    assert code != "0" and refusal in message, out


def test_users_cannot_choose_the_image(enclave, workspace_image):
    """RT-28: start a workspace with another image through the spawn options."""
    dave = enclave.login("dave")
    reply = dave.start("gamma", options={"image": "enclave-base:anything"})
    assert reply.status_code in (201, 202)
    try:
        (container,) = enclave.containers(kind="workspace", project="gamma", user="dave")
        assert container.attrs["Config"]["Image"] == workspace_image
    finally:
        dave.stop("gamma")
