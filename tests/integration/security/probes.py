"""Code the red-team tests run in a workspace kernel, and how their verdicts are read; where a workspace is
on the network (its gateway, this machine's addresses) and the guard every DNS test passes first.

A connection attempt's verdict says WHY it failed, which is what the tests assert:
- TIMEOUT: the packets were dropped silently: by the host firewall ENCLAVE-INPUT (a host port), by
  Docker's isolation rules for internal networks (anything leaving the project's bridge; on 20.10 an
  internal network still has a default route to its gateway, so the kernel does send), or by ICC off
  (another container on the same bridge). Something may listen there; nothing gets through.
- ENETUNREACH: no route at all (what an engine that gives internal networks no default route says).
- ECONNREFUSED: the packet arrived and nothing listens; a test that expects a drop treats it as a
  failure of the control, because it means the target was reachable.
"""

from __future__ import annotations

import subprocess

import pytest

from enclave.spawner.hardening import DNS_NOWHERE


def connect_code(targets: list[tuple[str, int]], timeout: float = 3.0) -> str:
    # All at once: a dropped target costs the whole timeout, and there may be many.
    return (
        "import errno, socket\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "def attempt(target):\n"
        "    s = socket.socket()\n"
        f"    s.settimeout({timeout})\n"
        "    try:\n"
        "        s.connect(target); return 'OPEN'\n"
        "    except TimeoutError:\n"
        "        return 'TIMEOUT'\n"
        "    except OSError as e:\n"
        "        return errno.errorcode.get(e.errno, type(e).__name__)\n"
        "    finally:\n"
        "        s.close()\n"
        f"targets = {targets!r}\n"
        "with ThreadPoolExecutor(16) as pool:\n"
        "    for (host, port), verdict in zip(targets, pool.map(attempt, targets)):\n"
        "        print(host, port, verdict)\n"
    )


def connect(workspace, targets: list[tuple[str, int]], timeout: float = 3.0) -> dict[tuple[str, int], str]:
    """Try each (host, port) from the workspace's kernel; the verdict for each."""
    verdicts = {}
    for line in workspace.run(connect_code(targets, timeout)).strip().splitlines():
        host, port, verdict = line.split()
        verdicts[(host, int(port))] = verdict
    return verdicts


def resolve_code(names: list[str]) -> str:
    return (
        "import socket\n"
        "codes = {socket.EAI_AGAIN: 'EAI_AGAIN', socket.EAI_NONAME: 'EAI_NONAME', socket.EAI_FAIL: 'EAI_FAIL'}\n"
        f"for name in {names!r}:\n"
        "    try:\n"
        "        print(name, 'RESOLVED', socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0])\n"
        "    except socket.gaierror as e:\n"
        "        print(name, codes.get(e.errno, e.errno), '-')\n"
    )


def resolve(workspace, names: list[str]) -> dict[str, str]:
    """Look each name up from the workspace's kernel: the address, or the resolver's error."""
    verdicts = {}
    for line in workspace.run(resolve_code(names)).strip().splitlines():
        name, verdict, address = line.split()
        verdicts[name] = address if verdict == "RESOLVED" else verdict
    return verdicts


def planted_kernelspec_code(cohort_file: str, name: str = "leak") -> str:
    """A kernelspec the analyst makes in the home folder, its "logo" a cohort file: a download route if served."""
    return (
        "import json, os, shutil\n"
        f"folder = '/home/analyst/.local/share/jupyter/kernels/{name}'\n"
        "os.makedirs(folder, exist_ok=True)\n"
        f"json.dump({{'argv': ['python'], 'display_name': '{name}', 'language': 'python'}},"
        " open(folder + '/kernel.json', 'w'))\n"
        f"shutil.copy('/home/analyst/{cohort_file}', folder + '/logo-64x64.png')\n"
    )


# --- where a workspace is -----------------------------------------------------------------------------


def gateway(workspace) -> str:
    """The workspace's gateway on its project network (an address of this machine)."""
    networks = workspace.container.attrs["NetworkSettings"]["Networks"]
    return networks[f"{workspace.enclave.settings.instance}-net-{workspace.project}"]["Gateway"]


def host_addresses() -> list[str]:
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in out if "." in a]


def require_mitigation(container) -> None:
    """Fail closed: no lookup is made unless the embedded resolver's only upstream is DNS_NOWHERE."""
    container.reload()
    upstream = container.attrs["HostConfig"].get("Dns")
    if upstream != [DNS_NOWHERE]:
        pytest.fail(
            f"the workspace's DNS upstream is {upstream!r}, not [{DNS_NOWHERE!r}]: refusing to look "
            "anything up, as the query could reach this machine's real resolver",
            pytrace=False,
        )
