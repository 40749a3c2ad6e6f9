"""Timing spawns through a hub's REST API, one at a time or many at once.

Spawn-to-ready is what harness/hub.py's HubUser.start waits for: from
the POST /hub/api/users/<u>/servers/<name> until GET /hub/api/users/<u> shows
that server ready. Here the clock is read around that same exchange; the
poll interval is a parameter (it bounds the resolution of the measurement,
and many pollers at a short interval would load the hub being measured).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from harness.hub import HubUser

LISTENING_LINE = "is running at"  # jupyter_server logs it once its port is bound


class SpawnFailed(RuntimeError):
    pass


@dataclass
class Spawn:
    user: str
    seconds: float  # spawn-to-ready
    posted_at: float  # wall clock (time.time()) just before the POST
    ready_at: float  # wall clock when the ready server was seen
    phases: dict[str, float] = field(default_factory=dict)


def timed_start(user: HubUser, server: str, poll: float, timeout: float) -> Spawn:
    posted_at, start = time.time(), time.perf_counter()
    try:
        reply = user.start(server, timeout=timeout, poll=poll)
    except AssertionError as failure:  # stopped while starting, or not ready in time
        raise SpawnFailed(str(failure)) from None
    if reply.status_code not in (201, 202):
        raise SpawnFailed(f"{user.name}/{server}: the hub answered {reply.status_code}: {reply.text[:300]}")
    return Spawn(user.name, time.perf_counter() - start, posted_at, time.time())


def docker_timestamp(text: str) -> float:
    """Docker's RFC 3339 UTC times carry nanoseconds, which datetime does not parse."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    stamp = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    return stamp + float(f"0.{fraction or '0'}")


def add_phases(spawn: Spawn, container) -> None:
    """Split spawn-to-ready with the container's creation and start times and its server's log (host clock).

    The last phase, from the server listening to the ready server being seen,
    is mostly the hub's own readiness check, which polls the new server with a
    randomised exponential backoff (jupyterhub.utils.exponential_backoff).
    """
    container.reload()
    created = docker_timestamp(container.attrs["Created"])
    started = docker_timestamp(container.attrs["State"]["StartedAt"])
    spawn.phases = {
        "post_to_container_created": created - spawn.posted_at,
        "container_created_to_started": started - created,
    }
    listening = _listening_at(container)
    if listening is None:
        spawn.phases["container_started_to_ready"] = spawn.ready_at - started
    else:
        spawn.phases["container_started_to_server_listening"] = listening - started
        spawn.phases["server_listening_to_ready_seen"] = spawn.ready_at - listening
        spawn.phases["post_to_server_listening"] = listening - spawn.posted_at


def _listening_at(container) -> float | None:
    """When the daemon received jupyter_server's 'is running at' log line: the server is listening."""
    for line in container.logs(timestamps=True).decode(errors="replace").splitlines():
        stamp, _, text = line.partition(" ")
        if LISTENING_LINE in text:
            return docker_timestamp(stamp)
    return None


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = p / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(spawns: list[Spawn], failures: list[str]) -> dict:
    seconds = [s.seconds for s in spawns]
    phases = {}
    for name in dict.fromkeys(k for s in spawns for k, v in s.phases.items() if isinstance(v, float)):
        phases[name] = statistics.median(s.phases[name] for s in spawns if name in s.phases)
    listening = [s.phases["post_to_server_listening"] for s in spawns if "post_to_server_listening" in s.phases]
    return {
        "n": len(spawns),
        "failures": failures,
        "p50_s": percentile(seconds, 50),
        "p95_s": percentile(seconds, 95),
        "min_s": min(seconds, default=None),
        "max_s": max(seconds, default=None),
        "samples_s": [round(s, 3) for s in seconds],
        "spawns": [
            {
                "user": s.user,
                "seconds": round(s.seconds, 3),
                "phases": {k: round(v, 3) if isinstance(v, float) else v for k, v in s.phases.items()},
            }
            for s in spawns
        ],
        "to_listening_p50_s": percentile(listening, 50),
        "phases_median_s": phases,
        "phase_errors": sorted({s.phases["error"] for s in spawns if "error" in s.phases}),
    }


def start_many(
    users: list[HubUser], server: str, poll: float, timeout: float, find_container: Callable
) -> tuple[list[Spawn], list[str], float]:
    """Start every user's server at the same moment; returns the spawns, the failures and the wall time.

    The servers are left running (stop_all stops them)."""
    barrier = threading.Barrier(len(users) + 1)
    spawns: list[Spawn] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one(user: HubUser) -> None:
        barrier.wait()
        try:
            spawn = timed_start(user, server, poll, timeout)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the others
            with lock:
                failures.append(f"{user.name}: {e}")
            return
        with lock:
            spawns.append(spawn)

    threads = [threading.Thread(target=one, args=(u,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join(timeout + 30)
    wall = time.perf_counter() - start
    if spawns:
        wall = max(s.ready_at for s in spawns) - min(s.posted_at for s in spawns)
    for spawn in spawns:
        _try_phases(spawn, find_container)
    return spawns, failures, wall


def _try_phases(spawn: Spawn, find_container: Callable) -> None:
    try:
        add_phases(spawn, find_container(spawn.user))
    except Exception as e:  # noqa: BLE001 - the split is a bonus; the latency stands
        spawn.phases = {"error": f"{type(e).__name__}: {e}"}


def stop_all(users: list[HubUser], server: str) -> None:
    threads = [threading.Thread(target=u.stop, args=(server,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)


def run_single_series(
    sides: dict[str, tuple[HubUser, str, Callable]], runs: int, poll: float, timeout: float, in_time: Callable[[], bool]
) -> dict[str, dict]:
    """`runs` spawns per side, one at a time, the sides interleaved so that machine noise hits both alike.

    sides: name -> (user, server name, container finder for the phase split).
    """
    spawns: dict[str, list[Spawn]] = {name: [] for name in sides}
    failures: dict[str, list[str]] = {name: [] for name in sides}
    for _ in range(runs):
        if not in_time():
            break
        for name, (user, server, find_container) in sides.items():
            try:
                spawn = timed_start(user, server, poll, timeout)
                _try_phases(spawn, find_container)
                spawns[name].append(spawn)
            except SpawnFailed as e:
                failures[name].append(str(e))
            finally:
                user.stop(server)
            time.sleep(1)  # let the engine finish removing the container
    return {name: summarise(spawns[name], failures[name]) for name in sides}
