"""The seccomp profile of workspaces and Spark nodes: Docker's default, less every reach into another process.

A workspace's kernels run the analyst's code as the same uid as the Jupyter
server that answers the browser. Docker's default profile lets a process of
one uid reach into another of the same uid (this kernel has no Yama; the
default admits ptrace on kernels >= 4.8), so a kernel could rewrite the
server and answer any route as it. The profile here is Docker's default,
shipped verbatim beside this module (`seccomp_docker_default.json`, moby
v20.10.24 `profiles/seccomp/default.json`, the engine this project runs on),
with the syscalls in REMOVED taken out of every rule; removed calls fail with
EPERM (the default action). It is written to `seccomp_workspace.json` by
`python -m enclave.confinement.seccomp`, and tests/unit/test_seccomp.py checks
that file is exactly what this module derives.

Seccomp cannot filter open(), so /proc/<pid>/mem is closed another way: the
server makes itself non-dumpable (images/workspace/lockdown) and PID 1 is an
execute-only tini (images/workspace/Dockerfile). This profile removes the
syscalls that reach another process without going through /proc.

Considered and kept, with the reason:
- pidfd_open, pidfd_send_signal: a pidfd alone can only wait for and signal a
  process, which kill() already allows within one uid (pidfd_getfd is gone).
- kill, tkill, tgkill: normal work needs them; a kernel can stop or kill the
  server, which stops the analyst's own workspace: PID 1 exits with the
  server and the whole container with it (tests/integration/security/test_server_subversion.py).
- personality: the default admits only five fixed personas (not
  ADDR_NO_RANDOMIZE), and a persona affects only the caller's later exec.
- process_mrelease: works only on a process already being killed.
- prctl: needed; PR_SET_PTRACER means nothing without Yama.
Already refused by the default (no rule admits them): userfaultfd, keyctl,
add_key, request_key, kexec_load, and, without capabilities (workspaces drop
them all), mount, unshare, setns, open_by_handle_at.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PROFILE = HERE / "seccomp_docker_default.json"
WORKSPACE_PROFILE = HERE / "seccomp_workspace.json"

REMOVED: dict[str, str] = {
    "ptrace": "attach to another process of the same uid and read or write its memory and registers "
    "(the default admits it on kernels >= 4.8)",
    "process_vm_readv": "read another process's memory directly (newer Docker defaults admit it on kernels >= 4.8)",
    "process_vm_writev": "write another process's memory directly (as process_vm_readv)",
    "pidfd_getfd": "copy a descriptor out of another process: the server's listening socket or its connections",
    "kcmp": "compare the kernel objects of two processes: a ptrace-checked probe of the server's descriptors "
    "and memory layout",
    "process_madvise": "advise the kernel on another process's memory (ptrace-checked; nothing here needs it)",
    "perf_event_open": "sample another process's registers and user stack (PERF_SAMPLE_REGS_USER/STACK_USER); "
    "capability-gated in the default, removed so that no capability ever admits it",
    "bpf": "load programs into the kernel; capability-gated in the default, removed as perf_event_open",
    "io_uring_setup": "io_uring's operations run beside seccomp, unseen by any rule here, and it has been a "
    "steady source of kernel privilege escalations; neither Python nor the JVM needs it "
    "(later Docker defaults dropped it too)",
    "io_uring_enter": "see io_uring_setup",
    "io_uring_register": "see io_uring_setup",
}


def derive(default: dict) -> dict:
    """`default` with every REMOVED name taken out of every rule; a rule left with no name is dropped."""
    profile = {key: value for key, value in default.items() if key != "syscalls"}
    profile["syscalls"] = []
    for rule in default["syscalls"]:
        if "name" in rule:  # the old one-name form; Docker's own profile uses "names" only
            raise ValueError("seccomp: a rule with 'name' instead of 'names' in the default profile")
        names = [name for name in rule["names"] if name not in REMOVED]
        if names:
            profile["syscalls"].append({**rule, "names": names})
    return profile


def render(profile: dict) -> str:
    """The file's text: stable for a stable input, so a regenerated file shows no spurious diff."""
    return json.dumps(profile, indent=1) + "\n"


@cache
def security_opt() -> str:
    """The docker `security_opt` entry: Docker's API takes the profile itself, not a path."""
    profile = json.loads(WORKSPACE_PROFILE.read_text())
    present = {name for rule in profile["syscalls"] for name in rule["names"]} & set(REMOVED)
    if present:  # fail closed: a hand-edited file never weakens a workspace
        raise RuntimeError(
            f"{WORKSPACE_PROFILE} admits {sorted(present)}: regenerate it with 'python -m enclave.confinement.seccomp'"
        )
    return "seccomp=" + json.dumps(profile, separators=(",", ":"))


def main() -> int:
    WORKSPACE_PROFILE.write_text(render(derive(json.loads(DEFAULT_PROFILE.read_text()))))
    print(f"Wrote {WORKSPACE_PROFILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
