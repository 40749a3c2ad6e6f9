"""CPU time used by the installation's own processes (the edge; the hub with its proxy and airlock), from /proc.

Which one is busiest under load says where a single machine runs out first: each is one Python (or
Node) process, so none can use more than one core.
"""

from __future__ import annotations

import os
from pathlib import Path

from enclave import runtime

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...


def _tree(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(settings) -> dict[str, float]:
    """User + system seconds so far of each of the installation's processes, children included."""
    used = {}
    for process in runtime.processes(settings):
        pid = runtime.running_pid(runtime.pid_file(settings, process))
        if pid is None:
            continue
        total = 0
        for member in _tree(pid):
            fields = _stat(member)
            if fields:
                total += int(fields[11]) + int(fields[12])  # utime, stime
        used[process.name] = total / TICKS
    return used


def cores_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Each process's average share of one core between two readings."""
    return {name: (after[name] - before.get(name, 0.0)) / seconds for name in after if seconds > 0}


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, all cores, in clock ticks (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)
