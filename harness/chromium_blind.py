#!/usr/bin/env python3
"""Start Chromium unable to open netlink sockets, so it cannot see this machine's interfaces come and go.

    chromium_blind.py [chromium's arguments]      (Chromium from $ENCLAVE_CHROMIUM, else `chromium` on PATH)

harness/chromium.py says why. A seccomp filter, set before exec and inherited by every process Chromium
starts, makes socket(AF_NETLINK, ...) fail with EACCES; every other call is untouched. Standard library
only: Playwright runs this file as Chromium's executable, with the system's python3.
"""

import ctypes
import os
import shutil
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
AUDIT_ARCH_X86_64 = 0xC000003E
SYS_SOCKET_X86_64 = 41
AF_NETLINK = 16
EACCES = 13
# Classic BPF over struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6]}: offsets 0, 4, 16 (args[0]).
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
FILTER = (
    (BPF_LD_W_ABS, 0, 0, 4),
    (BPF_JEQ_K, 0, 5, AUDIT_ARCH_X86_64),  # another architecture: allow (the filter is for x86-64 only)
    (BPF_LD_W_ABS, 0, 0, 0),
    (BPF_JEQ_K, 0, 3, SYS_SOCKET_X86_64),
    (BPF_LD_W_ABS, 0, 0, 16),
    (BPF_JEQ_K, 0, 1, AF_NETLINK),
    (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EACCES),
    (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def refuse_netlink() -> None:
    """Install the filter on this process (and so on everything it execs and starts)."""
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in FILTER))
    program = _SockFprog(len(FILTER), ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    if (
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0
    ):
        error = ctypes.get_errno()
        raise OSError(error, f"could not install the netlink filter: {os.strerror(error)}")


def main() -> None:
    chromium = os.environ.get("ENCLAVE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("chromium_blind.py: no Chromium (set ENCLAVE_CHROMIUM or put chromium on PATH)")
    refuse_netlink()
    os.execv(chromium, [chromium, *sys.argv[1:]])


if __name__ == "__main__":
    main()
