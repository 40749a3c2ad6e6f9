"""The running container carries every confinement setting (read from `docker inspect`)."""

import pytest

from enclave.spawner import hardening


@pytest.fixture(scope="module")
def inspected(alice_alpha):
    return alice_alpha.container.attrs


def test_runs_as_an_unprivileged_user(inspected, alice_alpha):
    assert inspected["Config"]["User"] == "1000:1000"
    assert alice_alpha.run("import os; print(os.getuid(), os.getgid())").split() == ["1000", "1000"]


def test_all_capabilities_dropped_and_no_new_privileges(inspected, alice_alpha):
    host = inspected["HostConfig"]
    assert host["CapDrop"] == ["ALL"]
    assert not host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    status = alice_alpha.run("print(open('/proc/self/status').read())")
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["CapEff"].strip() == "0000000000000000"
    assert fields["CapBnd"].strip() == "0000000000000000"
    assert fields["NoNewPrivs"].strip() == "1"


def test_root_filesystem_is_read_only_with_scratch_in_tmpfs(inspected, alice_alpha):
    host = inspected["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert set(host["Tmpfs"]) == {"/tmp"}
    out = alice_alpha.run(
        "import errno\n"
        "for path in ('/usr/evil', '/etc/evil', '/opt/venv/evil'):\n"
        "    try:\n"
        "        open(path, 'w'); print('WRITTEN')\n"
        "    except OSError as e:\n"
        "        print(errno.errorcode[e.errno])\n"
    )
    assert set(out.split()) <= {"EROFS", "EACCES"} and "WRITTEN" not in out


def test_limits_on_processes_memory_and_cpu(inspected, enclave):
    host = inspected["HostConfig"]
    assert host["PidsLimit"] == enclave.settings.workspace_pids_limit
    assert host["Memory"] == 1024**3
    assert host["MemorySwap"] == host["Memory"]
    assert host["CpuQuota"] == int(enclave.settings.workspace_cpu_limit * host["CpuPeriod"])


def test_no_privileged_mode_no_host_namespaces_no_devices(inspected, alice_alpha):
    host = inspected["HostConfig"]
    assert host["Privileged"] is False
    assert host["NetworkMode"] == f"{alice_alpha.enclave.settings.instance}-net-alpha"
    assert host["PidMode"] == "" and host["IpcMode"] == "private"
    assert host["UTSMode"] == "" and host["UsernsMode"] == ""
    assert not host["Devices"]
    assert not host["PortBindings"]


def test_mounts_are_exactly_the_approved_data_and_the_users_folders(inspected, alice_alpha):
    state = alice_alpha.enclave.settings.projects_dir / "alpha"
    mounts = {m["Destination"]: (m["Source"], m["RW"]) for m in inspected["Mounts"]}
    expected = {
        "/home/analyst": (str(state / "homes" / "alice"), True),
        "/home/analyst/shared": (str(state / "shared"), True),
        "/home/analyst/outbox": (str(state / "outbox" / "alice"), True),
    }
    data = {k: v for k, v in mounts.items() if k.startswith("/data/")}
    assert {k: v for k, v in mounts.items() if not k.startswith("/data/")} == expected
    assert list(data) == ["/data/cohort/v1"]
    assert data["/data/cohort/v1"][1] is False


def test_the_image_is_the_operators(inspected, workspace_image):
    assert inspected["Config"]["Image"] == workspace_image


def test_user_config_in_home_is_ignored(inspected, alice_alpha):
    env = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
    assert env["JUPYTER_CONFIG_DIR"] == "/opt/enclave/user-config"
    assert env["PYTHONNOUSERSITE"] == "1"
    out = alice_alpha.run(
        "import os\nprint(os.stat('/opt/enclave/user-config').st_uid, os.access('/opt/enclave/user-config', os.W_OK))"
    )
    assert out.split() == ["0", "False"]


def test_the_seccomp_profile_and_the_images_own_init(inspected, alice_alpha):
    host = inspected["HostConfig"]
    # Docker's default profile less the ptrace-class calls, passed whole (tests/unit/test_seccomp.py).
    assert host["SecurityOpt"] == hardening.security_opt()
    assert host["Init"] is False and inspected["Config"]["Entrypoint"] == [hardening.IMAGE_INIT, "--"]
    out = alice_alpha.run(
        "import os\n"
        "print(open('/proc/1/cmdline').read().split(chr(0))[0])\n"
        "print(os.stat('/proc/1/mem').st_uid, os.stat(f'/proc/{os.getppid()}/mem').st_uid,"
        " os.stat('/proc/self/mem').st_uid)\n"
        "print(open('/proc/self/status').read().split('Seccomp:')[1].split()[0])\n"
    )
    # PID 1 is the execute-only init; it and the server (the kernel's parent) are not dumpable, so
    # their /proc files are root's; the kernel itself is as before.
    assert out.splitlines() == [hardening.IMAGE_INIT, "0 0 1000", "2"]


# Every setting of `docker inspect` that confines a workspace; an `r` workspace must carry each exactly as a
# Python one does (they differ in their image, project, network and mounts only).
CONFINEMENT = (
    "CapAdd", "CapDrop", "SecurityOpt", "ReadonlyRootfs", "Tmpfs", "Privileged", "PidsLimit", "Memory",
    "MemorySwap", "CpuQuota", "CpuShares", "Ulimits", "Init", "IpcMode", "PidMode", "UTSMode", "UsernsMode",
    "Devices", "PortBindings", "PublishAllPorts", "RestartPolicy", "CgroupParent",
)  # fmt: skip


def test_an_r_workspace_is_confined_as_a_python_one(inspected, ruth_r, r_image):
    """The `r` image changes what runs, never how it is confined: same settings, same user, same init."""
    r = ruth_r.container.attrs
    assert r["Config"]["Image"] == r_image
    assert {k: r["HostConfig"][k] for k in CONFINEMENT} == {k: inspected["HostConfig"][k] for k in CONFINEMENT}
    for key in ("User", "Entrypoint", "Cmd", "Healthcheck", "ExposedPorts"):
        assert r["Config"][key] == inspected["Config"][key], key
    # The kernel JupyterLab starts for R runs under it too: the analyst's uid, no capabilities, seccomp on.
    kernel = ruth_r.open_kernel("ir")
    try:
        out = kernel.run(
            'status <- readLines("/proc/self/status")\n'
            'cat(grep("^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):", status, value = TRUE), sep = "\\n")\n'
            'cat(file.create("/usr/lib/R/site-library/planted.R", showWarnings = FALSE), "\\n")\n'
        )
    finally:
        kernel.close()
    fields = dict(line.split(":", 1) for line in out.strip().splitlines()[:-1])
    assert {k: v.split() for k, v in fields.items()} == {
        "Uid": ["1000"] * 4,
        "CapEff": ["0000000000000000"],
        "CapBnd": ["0000000000000000"],
        "NoNewPrivs": ["1"],
        "Seccomp": ["2"],
    }
    assert out.strip().splitlines()[-1].strip() == "FALSE"  # R's libraries are the image's, read-only
