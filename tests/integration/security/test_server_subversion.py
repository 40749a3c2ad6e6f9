"""Taking over the Jupyter server from its own kernel: the server answers every route the edge passes.

Kernel and server run as the same uid (1000), and this kernel has no Yama: what stops the analyst's
code is the seccomp profile (enclave/spawner/seccomp.py), a non-dumpable server (the lockdown
extension) and an execute-only init as PID 1 (images/workspace/Dockerfile). Every attempt runs in a
real kernel of a real workspace. The attempts that restart or kill a server use a person and project
of their own (tess, takeover), so the shared workspaces are left alone.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from enclave.operations import people, projects
from enclave.spawner import hardening
from tests.integration.security.lockdown import CLOSED, Browser
from tests.support.workspaces import Workspace

SERVER_PORT = 8888  # DockerSpawner's port for the single-user server

# Kernel-side helpers: raw syscalls (x86_64 numbers) answering "ok" or the errno's name.
SYSCALLS = (
    "import ctypes, errno, json, os, platform, subprocess, sys\n"
    "assert platform.machine() == 'x86_64', 'the syscall numbers below are x86_64 ones'\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "libc.syscall.restype = ctypes.c_long\n"
    "def call(number, *args):\n"
    "    ctypes.set_errno(0)\n"
    "    result = libc.syscall(number, *[ctypes.c_long(a) for a in args])\n"
    "    return 'ok' if result >= 0 else errno.errorcode[ctypes.get_errno()]\n"
    "def opened(path, flags=os.O_RDONLY):\n"
    "    try:\n"
    "        os.close(os.open(path, flags)); return 'ok'\n"
    "    except OSError as e:\n"
    "        return errno.errorcode[e.errno]\n"
    "server = os.getppid()\n"
    "assert 'jupyterhub-singleuser' in open(f'/proc/{server}/cmdline').read(), 'the kernel is not the server child'\n"
    # A dumpable process of the kernel's own: what seccomp alone must stop.
    "own = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "seen = {}\n"
)
PTRACE, PROCESS_VM_READV, PROCESS_VM_WRITEV, KCMP, PIDFD_GETFD, PROCESS_MADVISE = 101, 310, 311, 312, 438, 440
PERF_EVENT_OPEN, IO_URING_SETUP, USERFAULTFD, BPF = 298, 425, 323, 321
PTRACE_ATTACH, PTRACE_SEIZE = 16, 0x4206


def attempt(workspace: Workspace, body: str) -> dict:
    """Run SYSCALLS, then `body` (which fills the dict `seen`) in the kernel; `seen` comes back."""
    return json.loads(workspace.run(SYSCALLS + body + "own.kill(); own.wait()\nprint(json.dumps(seen))\n"))


@pytest.fixture(scope="module")
def tess(enclave):
    """An analyst alone in a project of her own, whose workspace these attempts may restart or kill."""
    ctx = enclave.ctx
    projects.create_project(ctx, "takeover")
    enclave.passwords["tess"] = people.add_user(ctx, "tess", ["analyst"]).initial_password
    people.add_member(ctx, "takeover", "tess")
    workspace = Workspace(enclave, "tess", "takeover")
    yield workspace
    workspace.close()
    ctx.workspaces.stop("takeover", "tess")


def test_ptrace_on_the_server_or_any_process_is_refused(alice_alpha):
    """RT-SRV01: ptrace(PTRACE_ATTACH / PTRACE_SEIZE) the server, PID 1, or a process of the kernel's own."""
    seen = attempt(
        alice_alpha,
        (
            "for name, pid in (('server', server), ('init', 1), ('own', own.pid)):\n"
            f"    seen[name] = [call({PTRACE}, {PTRACE_ATTACH}, pid, 0, 0),\n"
            f"                  call({PTRACE}, {PTRACE_SEIZE}, pid, 0, 0)]\n"
        ),
    )
    # EPERM from the profile even for the kernel's own dumpable child, where Docker's default admits it.
    assert seen == {"server": ["EPERM", "EPERM"], "init": ["EPERM", "EPERM"], "own": ["EPERM", "EPERM"]}


def test_reading_or_writing_another_process_memory_directly_is_refused(alice_alpha):
    """RT-SRV02: process_vm_readv / process_vm_writev on the server and on a process of the kernel's own."""
    seen = attempt(
        alice_alpha,
        (
            "buffer = ctypes.create_string_buffer(64)\n"
            "local = (ctypes.c_void_p * 2)(ctypes.addressof(buffer), 64)\n"
            "remote = (ctypes.c_void_p * 2)(0x400000, 64)\n"
            "for name, pid in (('server', server), ('own', own.pid)):\n"
            f"    seen[name] = [call(n, pid, ctypes.addressof(local), 1, ctypes.addressof(remote), 1, 0)\n"
            f"                  for n in ({PROCESS_VM_READV}, {PROCESS_VM_WRITEV})]\n"
        ),
    )
    assert seen == {"server": ["EPERM", "EPERM"], "own": ["EPERM", "EPERM"]}


def test_the_servers_and_init_memory_cannot_be_opened(alice_alpha):
    """RT-SRV03: open /proc/<server>/mem and /proc/1/mem for reading and for writing."""
    seen = attempt(
        alice_alpha,
        (
            "for name, pid in (('server', server), ('init', 1)):\n"
            "    seen[name] = [opened(f'/proc/{pid}/mem'), opened(f'/proc/{pid}/mem', os.O_RDWR),\n"
            "                  os.stat(f'/proc/{pid}/mem').st_uid]\n"
            "seen['own'] = opened(f'/proc/{own.pid}/mem', os.O_RDWR)\n"
        ),
    )
    # Not dumpable: the kernel makes /proc/<pid>/ root's. The kernel's own child shows the contrast.
    assert seen == {"server": ["EACCES", "EACCES", 0], "init": ["EACCES", "EACCES", 0], "own": "ok"}


def test_the_servers_environment_descriptors_and_maps_are_unreadable(alice_alpha):
    """RT-SRV04: read the server's /proc/<pid>/environ (its hub token), fd/, maps, cwd, root."""
    seen = attempt(
        alice_alpha,
        (
            "for part in ('environ', 'maps', 'auxv', 'syscall'):\n"
            "    seen[part] = opened(f'/proc/{server}/{part}')\n"
            "for part in ('fd', 'map_files'):\n"
            "    try:\n"
            "        os.listdir(f'/proc/{server}/{part}'); seen[part] = 'ok'\n"
            "    except OSError as e:\n"
            "        seen[part] = errno.errorcode[e.errno]\n"
            "for part in ('cwd', 'root', 'exe'):\n"
            "    try:\n"
            "        os.readlink(f'/proc/{server}/{part}'); seen[part] = 'ok'\n"
            "    except OSError as e:\n"
            "        seen[part] = errno.errorcode[e.errno]\n"
        ),
    )
    assert seen == {
        part: "EACCES" for part in ("environ", "maps", "auxv", "syscall", "fd", "map_files", "cwd", "root", "exe")
    }


def test_a_descriptor_cannot_be_copied_out_of_the_server(alice_alpha):
    """RT-SRV05: pidfd_open the server (allowed: it can only signal), then pidfd_getfd its descriptors."""
    seen = attempt(
        alice_alpha,
        (
            "for name, pid in (('server', server), ('own', own.pid)):\n"
            "    pidfd = os.pidfd_open(pid)\n"
            f"    seen[name] = sorted({{call({PIDFD_GETFD}, pidfd, fd, 0) for fd in range(3, 12)}})\n"
            "    os.close(pidfd)\n"
        ),
    )
    assert seen == {"server": ["EPERM"], "own": ["EPERM"]}


def test_the_other_calls_that_reach_into_a_process_are_refused(alice_alpha):
    """RT-SRV06: kcmp, process_madvise, perf_event_open on the server; io_uring, userfaultfd, bpf."""
    seen = attempt(
        alice_alpha,
        (
            "pidfd = os.pidfd_open(server)\n"
            "attr = (ctypes.c_uint32 * 32)(1, 128)\n"  # PERF_TYPE_SOFTWARE, size 128: a CPU clock counter
            "params = ctypes.create_string_buffer(120)\n"
            f"seen['kcmp'] = call({KCMP}, os.getpid(), server, 0, 0, 0)\n"
            f"seen['process_madvise'] = call({PROCESS_MADVISE}, pidfd, 0, 0, 20, 0)\n"
            f"seen['perf_event_open'] = call({PERF_EVENT_OPEN}, ctypes.addressof(attr), server, -1, -1, 0)\n"
            f"seen['io_uring_setup'] = call({IO_URING_SETUP}, 4, ctypes.addressof(params))\n"
            f"seen['userfaultfd'] = call({USERFAULTFD}, 0)\n"
            f"seen['bpf'] = call({BPF}, 0, 0, 0)\n"
        ),
    )
    assert seen == {
        name: "EPERM" for name in ("kcmp", "process_madvise", "perf_event_open", "io_uring_setup", "userfaultfd", "bpf")
    }


def test_the_servers_port_cannot_be_taken_nor_its_listening_socket_reached(alice_alpha):
    """RT-SRV07: bind the server's port (with SO_REUSEADDR/SO_REUSEPORT), find its listening socket in any
    process the kernel can read."""
    seen = attempt(
        alice_alpha,
        (
            "import socket\n"
            "address = socket.gethostbyname(socket.gethostname())\n"
            "for host in ('0.0.0.0', '127.0.0.1', address):\n"
            "    s = socket.socket()\n"
            "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n"
            "    try:\n"
            f"        s.bind((host, {SERVER_PORT})); s.listen(); seen[host] = 'BOUND'\n"
            "    except OSError as e:\n"
            "        seen[host] = errno.errorcode[e.errno]\n"
            "    s.close()\n"
            # The listening socket's inode, then every descriptor of every process the kernel may read.
            "rows = [l.split() for l in open('/proc/net/tcp').readlines()[1:]]\n"
            f"inodes = {{r[9] for r in rows if r[3] == '0A' and int(r[1].split(':')[1], 16) == {SERVER_PORT}}}\n"
            "seen['listening'] = len(inodes)\n"
            "holders = []\n"
            "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
            "    try:\n"
            "        fds = os.listdir(f'/proc/{pid}/fd')\n"
            "    except OSError:\n"
            "        continue\n"
            "    for fd in fds:\n"
            "        try:\n"
            "            link = os.readlink(f'/proc/{pid}/fd/{fd}')\n"
            "        except OSError:\n"
            "            continue\n"
            "        if any(link == f'socket:[{inode}]' for inode in inodes):\n"
            "            holders.append(pid)\n"
            "seen['holders'] = holders\n"
            "seen['server_readable'] = os.access(f'/proc/{server}/fd', os.R_OK)\n"
        ),
    )
    assert seen["listening"] == 1  # the server listens on the port: the search below means something
    assert seen["holders"] == [] and seen["server_readable"] is False
    assert {seen[host] for host in seen if host not in ("listening", "holders", "server_readable")} == {"EADDRINUSE"}


def test_kernel_specs_written_in_the_home_folder_are_not_offered(alice_alpha):
    """RT-SRV08: a kernel spec in ~/.local/share/jupyter/kernels, whose argv the server would run."""
    alice_alpha.run(
        "import json, os\n"
        "folder = '/home/analyst/.local/share/jupyter/kernels/takeover'\n"
        "os.makedirs(folder, exist_ok=True)\n"
        "json.dump({'argv': ['python3', '-c', 'print(1)'], 'display_name': 'takeover', 'language': 'python'},"
        " open(folder + '/kernel.json', 'w'))\n"
    )
    try:
        reply = Browser(alice_alpha).get("api/kernelspecs")
        assert reply.status_code == 200
        specs = reply.json()["kernelspecs"]
        assert "python3" in specs and "takeover" not in specs
    finally:
        alice_alpha.run("import shutil; shutil.rmtree('/home/analyst/.local/share/jupyter/kernels/takeover')")


# Code the server (or the engine's health check) would run if it loaded it. Each records which
# process ran it, so a kernel running it (the analyst's own code, allowed) is told apart.
def _mark(tag: str) -> str:
    return (
        f"import os; open('/home/analyst/.ran-{tag}-' + str(os.getpid()), 'w')"
        ".write(open('/proc/self/cmdline').read().replace(chr(0), ' '))\n"
    )


PLANTED = {
    # The server's working directory is the home folder.
    "jupyter_server_config.py": _mark("cwd-config"),
    "jupyter_config.py": _mark("cwd-base-config"),
    "jupyter_server_config.json": json.dumps({"ServerApp": {"jpserver_extensions": {"enclave_lockdown": False}}}),
    "sitecustomize.py": _mark("cwd-sitecustomize"),
    "usercustomize.py": _mark("cwd-usercustomize"),
    "takeover_extension.py": _mark("cwd-extension"),
    # Jupyter's and Python's per-user places.
    ".jupyter/jupyter_server_config.py": _mark("jupyter-config"),
    ".jupyter/jupyter_server_config.d/takeover.json": json.dumps(
        {"ServerApp": {"jpserver_extensions": {"takeover_extension": True}}}
    ),
    ".local/etc/jupyter/jupyter_server_config.py": _mark("user-etc-config"),
    ".local/lib/python3.11/site-packages/takeover.pth": _mark("user-pth"),
    ".local/lib/python3.11/site-packages/takeover_extension.py": _mark("user-extension"),
    ".local/lib/python3.11/site-packages/usercustomize.py": _mark("user-usercustomize"),
}
# The engine's health check runs `python3 ... import urllib.request` in the home folder. (Not planted
# before a restart: the kernel, started with the home on its sys.path, would import it too.)
HEALTH_CHECK_BAIT = {"urllib/__init__.py": _mark("health-check")}


def _plant(workspace: Workspace, files: dict[str, str]) -> None:
    workspace.run(
        "import os\n"
        f"for path, text in {files!r}.items():\n"
        "    path = os.path.join('/home/analyst', path)\n"
        "    os.makedirs(os.path.dirname(path), exist_ok=True)\n"
        "    open(path, 'w').write(text)\n"
    )


def _remove(workspace: Workspace, files: dict[str, str]) -> None:
    workspace.run(
        "import glob, os\n"
        f"for path in {list(files)!r} + glob.glob('/home/analyst/.ran-*'):\n"
        "    path = os.path.join('/home/analyst', path)\n"
        "    os.remove(path)\n"
        "    try:\n"
        "        os.removedirs(os.path.dirname(path))  # the folders made for it, up to the first non-empty one\n"
        "    except OSError:\n"
        "        pass\n"
    )


def _ran(workspace: Workspace) -> dict[str, str]:
    """Marker files -> the command line of the process that ran the planted code."""
    return json.loads(
        workspace.run(
            "import glob, json\nprint(json.dumps({p: open(p).read() for p in glob.glob('/home/analyst/.ran-*')}))\n"
        )
    )


def test_code_and_config_planted_in_the_home_folder_are_not_loaded_by_the_next_server(tess):
    """RT-SRV09: plant server config, extensions, .pth and *customize files in the home folder and the
    per-user Jupyter and Python places, then restart the workspace."""
    _plant(tess, PLANTED)
    try:
        started = tess.user.server("takeover")["started"]
        tess.stop()
        tess.ensure_running()
        assert tess.user.server("takeover")["started"] != started  # a new server really started
        ran = _ran(tess)
        assert not [cmd for cmd in ran.values() if "jupyterhub-singleuser" in cmd], ran
        # The new server is the locked-down one, and not dumpable.
        assert CLOSED in Browser(tess).get("files/jupyter_server_config.py").text
        assert tess.run("import os; print(os.stat(f'/proc/{os.getppid()}/mem').st_uid)").strip() == "0"
    finally:
        _remove(tess, PLANTED)


def test_the_health_check_runs_nothing_from_the_home_folder(tess):
    """RT-SRV10: a module named like one the engine's health check imports (~/urllib), in its working directory."""
    _plant(tess, HEALTH_CHECK_BAIT)
    try:
        container = tess.container
        check = hardening.HEALTHCHECK["test"][1:]
        exit_code, output = container.exec_run(check, user=hardening.WORKSPACE_UID, workdir="/home/analyst")
        assert exit_code == 0, output  # the check itself still works
        assert not [cmd for cmd in _ran(tess).values() if "urllib.request" in cmd]
        # The attempt is real: the same check without -I runs the planted module.
        container.exec_run(
            [part for part in check if part != "-I"], user=hardening.WORKSPACE_UID, workdir="/home/analyst"
        )
        assert [cmd for cmd in _ran(tess).values() if "urllib.request" in cmd]
    finally:
        _remove(tess, HEALTH_CHECK_BAIT)


def test_a_killed_server_takes_the_container_with_it_and_nobody_keeps_its_port(tess, enclave):
    """RT-SRV11: from a process of the kernel's own session, kill the server and answer on its port."""
    container = tess.container
    tess.run(
        "import subprocess, sys, os\n"
        "impostor = '''\n"
        "import os, signal, socket, sys, time\n"
        "time.sleep(1)  # let the kernel's reply leave first\n"
        "os.kill(int(sys.argv[1]), signal.SIGKILL)\n"
        "while True:\n"
        "    try:\n"
        "        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"        s.bind(('0.0.0.0', {SERVER_PORT})); s.listen(); break\n"
        "    except OSError:\n"
        "        time.sleep(0.01)\n"
        "while True:\n"
        "    c, _ = s.accept()\n"
        "    c.sendall(b'HTTP/1.1 200 OK\\\\r\\\\nContent-Length: 8\\\\r\\\\n\\\\r\\\\nimpostor'); c.close()\n"
        "'''\n"
        "subprocess.Popen([sys.executable, '-c', impostor, str(os.getppid())], start_new_session=True,"
        " stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )
    tess.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        container.reload()
        if container.status != "running":
            break
        time.sleep(0.5)
    assert container.status == "exited", container.status
    # Nothing answers as the server: the hub's proxy finds no one at the server's address. (While another
    # container holds the project's bridge up, the project's package index, the proxy's connection to the
    # dead address waits rather than failing: no answer at all.)
    try:
        reply = requests.get(
            f"{enclave.inner_url}/user/tess/takeover/api/status",
            headers={"Authorization": f"token {tess.token}"},
            timeout=20,
            allow_redirects=False,
        )
    except requests.exceptions.Timeout:
        return
    assert "impostor" not in reply.text


R_OPENED = r"""
opened <- function(path, mode) {
  tryCatch({ con <- file(path, open = mode); close(con); "ok" },
           warning = function(w) if (grepl("Permission denied", conditionMessage(w))) "EACCES" else conditionMessage(w),
           error = function(e) conditionMessage(e))
}
server <- as.integer(strsplit(readLines("/proc/self/stat"), " ")[[1]][4])
cmdline <- readBin(sprintf("/proc/%d/cmdline", server), "raw", 4096)
stopifnot(grepl("jupyterhub-singleuser", rawToChar(cmdline[cmdline != as.raw(0)])))  # the kernel's parent
seen <- c(server = opened(sprintf("/proc/%d/mem", server), "r+b"), init = opened("/proc/1/mem", "r+b"),
          own = opened("/proc/self/mem", "r+b"))
cat(paste(names(seen), seen, sep = "=", collapse = "\n"), "\n")
"""


def test_an_r_kernel_cannot_open_the_servers_memory_either(ruth_r):
    """RT-SRV12: from an R kernel (the `r` image), open the server's and PID 1's /proc/<pid>/mem for writing."""
    kernel = ruth_r.open_kernel("ir")
    try:
        out = kernel.run(R_OPENED)
    finally:
        kernel.close()
    seen = dict(line.strip().split("=", 1) for line in out.strip().splitlines())
    # The server is not dumpable whatever kernel it starts; the R kernel's own memory shows the contrast.
    assert seen == {"server": "EACCES", "init": "EACCES", "own": "ok"}
