"""Benchmark: the enclave's spawn-to-ready latency against a plain DockerSpawner, and polars in a workspace.

    python -m benchmarks.bench_spawn [--out bench-results/spawn.json]

In one run, on this machine, with the workspace image already built:

1. a real enclave (hub_config/jupyterhub_config.py, EnclaveSpawner, real
   logins) and a plain JupyterHub (benchmarks/plain_hub_config.py: stock
   DockerSpawner, shared-password DummyAuthenticator, ordinary bridge
   network, no hardening) run side by side on loopback, with the same image;
2. spawn-to-ready, one at a time (--single spawns per hub, the hubs taking
   turns, each server stopped before the next), split into phases with the
   container's own timestamps and its server's log;
3. a 500,000-participant cohort, registered and approved for a project with
   a CPU limit equal to the host's cores (--scan-cpu-limit), is queried with
   polars in that project's workspace kernel (over the hub's proxy) and by the
   host's Python on the same files, in alternating rounds (benchmarks/scan.py);
4. --batch users of one project started at the same moment, --batch-rounds
   rounds per hub in ABBA order (enclave, plain, plain, enclave).

Targets from the issue are printed next to the figures and never fail the run.
Everything created carries an `encbench-...` instance label and is removed at
the end, on error and on SIGTERM too.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import docker
import dockerspawner
import jupyterhub
import polars as pl

from enclave.cohort import generate_cohort
from harness.enclave import cleanup_instance, start_hub, stop_hub
from harness.hub import HubUser
from harness.kernel import KernelSession

from . import enclave_hub, scan, spawning
from .images import available_image
from .plain_hub import PlainHub
from .spawn_report import scan_rows, spawn_rows
from .table import publish

SINGLE_POLL = 0.1  # seconds between readiness polls for one spawn
BATCH_POLL = 0.5  # per user when many start at once (HubUser.start's interval): light on the hub
SPAWN_TIMEOUT = 150


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # runs the finally blocks: hubs stopped, containers removed


class Run:
    """One benchmark run: its deadline, its report, and the phases that failed."""

    def __init__(self, budget: float):
        self.deadline = time.monotonic() + budget
        self.report: dict = {"benchmark": "spawn_and_scan", "errors": {}, "skipped": []}

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def phase(self, name: str, needs_seconds: float, action) -> None:
        if self.left() < needs_seconds:
            self.report["skipped"].append(
                f"{name}: {self.left():.0f} s of the time budget left, {needs_seconds:.0f} s needed"
            )
            print(f"skipped {name}: out of time", flush=True)
            return
        print(f"--- {name}", flush=True)
        started = time.monotonic()
        try:
            action()
        except Exception as e:  # noqa: BLE001 - a failed phase is reported; the others still run
            self.report["errors"][name] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
        print(f"    {name}: {time.monotonic() - started:.1f} s", flush=True)


def environment(image: str) -> dict:
    client = docker.from_env()
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "polars_host": pl.__version__,
        "jupyterhub": jupyterhub.__version__,
        "dockerspawner": dockerspawner.__version__,
        "docker_engine": client.version().get("Version"),
        "image": image,
        "load_average_at_start": os.getloadavg(),
        "other_running_containers_at_start": len(client.containers.list()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--single", type=int, default=8, help="one-at-a-time spawns per hub (default 8)")
    parser.add_argument("--batch", type=int, default=10, help="users started at once per hub (default 10)")
    parser.add_argument(
        "--batch-rounds",
        type=int,
        default=2,
        help="rounds of spawns at once per hub, in ABBA order, samples pooled (default 2)",
    )
    parser.add_argument("--participants", type=int, default=500_000, help="cohort size (default 500,000)")
    parser.add_argument(
        "--scan-rounds",
        type=int,
        default=5,
        help="alternating workspace/host rounds, each a warm-up and best of 5 (default 5)",
    )
    parser.add_argument(
        "--scan-cpu-limit",
        type=float,
        default=float(os.cpu_count() or 1),
        help="the scan project's CPU limit (default: the host's cores, so both sides may "
        "use the same CPUs); below that, the host runs with POLARS_MAX_THREADS set to it",
    )
    parser.add_argument("--logs", type=Path, help="keep both hubs' logs in this folder")
    parser.add_argument(
        "--budget",
        type=float,
        default=480,
        help="seconds for the whole run; phases that would not fit are skipped (default 480)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)

    image = available_image("workspace")
    if image is None:
        return 2

    run = Run(args.budget)
    report = run.report
    report["environment"] = environment(image)
    root = Path(tempfile.mkdtemp(prefix="encbench-"))
    enclave = plain = None
    try:
        cohort = root / "data" / "cohort" / "v1"
        generate_cohort(cohort, participants=args.participants)
        analysts = [f"analyst{i:02d}" for i in range(1, args.batch + 1)]
        enclave = enclave_hub.build(root / "enclave")
        instance = enclave.settings.instance
        report["instance"] = instance
        print(f"instance {instance}, state in {root}", flush=True)
        enclave_hub.seed(enclave, cohort, analysts, args.scan_cpu_limit)
        plain = PlainHub(label=f"{instance}-plain", image=image, folder=root / "plain")
        started = time.perf_counter()
        start_hub(enclave)
        report["hub_start_s"] = {"enclave": time.perf_counter() - started}
        started = time.perf_counter()
        plain.start()
        report["hub_start_s"]["plain"] = time.perf_counter() - started

        users = {
            "enclave": [enclave.login(name) for name in analysts],
            "plain": [HubUser(plain.url, name, plain.password) for name in analysts],
        }
        assert all(u.logged_in for u in users["plain"]), "a user could not log in to the plain hub"
        project = enclave_hub.SPAWN_PROJECT

        def enclave_container(user: str):
            (found,) = enclave.containers(kind="workspace", project=project, user=user)
            return found

        def plain_container(user: str):
            return docker.from_env().containers.get(f"{plain.label}-{user}-{project}")

        finders = {"enclave": enclave_container, "plain": plain_container}

        def first_spawns():
            # Not counted: the enclave creates the project network and firewall rule here.
            report["first_spawn_s"] = {}
            for side in ("enclave", "plain"):
                user = users[side][0]
                try:
                    report["first_spawn_s"][side] = spawning.timed_start(
                        user, project, SINGLE_POLL, SPAWN_TIMEOUT
                    ).seconds
                finally:
                    user.stop(project)

        def single():
            sides = {side: (users[side][0], project, finders[side]) for side in ("enclave", "plain")}
            report["single"] = spawning.run_single_series(
                sides, args.single, SINGLE_POLL, SPAWN_TIMEOUT, in_time=lambda: run.left() > 60
            )

        def batch():
            # Rounds in ABBA order (enclave, plain, plain, enclave, ...) so that a drift in the
            # machine's load hits both sides alike; samples are pooled per side.
            order = [
                side
                for i in range(args.batch_rounds)
                for side in (("enclave", "plain") if i % 2 == 0 else ("plain", "enclave"))
            ]
            pooled = {side: {"spawns": [], "failures": [], "walls": []} for side in ("enclave", "plain")}
            for side in order:
                if run.left() < 60:
                    report["skipped"].append(f"a {side} round of spawns at once: out of time")
                    continue
                spawns, failures, wall = spawning.start_many(
                    users[side], project, BATCH_POLL, min(SPAWN_TIMEOUT, run.left() - 30), finders[side]
                )
                spawning.stop_all(users[side], project)
                pooled[side]["spawns"] += spawns
                pooled[side]["failures"] += failures
                pooled[side]["walls"].append(wall)
                time.sleep(3)  # let the engine settle before the next round
            report["batch"] = {
                side: {
                    **spawning.summarise(p["spawns"], p["failures"]),
                    "users": len(users[side]),
                    "rounds": len(p["walls"]),
                    "walls_s": p["walls"],
                    "wall_s": statistics.mean(p["walls"]) if p["walls"] else None,
                }
                for side, p in pooled.items()
            }

        def polars_scan():
            reader = enclave.login(enclave_hub.SCAN_USER)
            spawn = spawning.timed_start(reader, enclave_hub.SCAN_PROJECT, SINGLE_POLL, SPAWN_TIMEOUT)
            host_threads = None
            if args.scan_cpu_limit < (os.cpu_count() or 1):
                host_threads = max(1, int(args.scan_cpu_limit))
            kernel = None
            try:
                # The host reads the very folder mounted at /data/cohort/v1 (which may be the
                # project's own extract of the dataset rather than the registered folder).
                (container,) = enclave.containers(
                    kind="workspace", project=enclave_hub.SCAN_PROJECT, user=enclave_hub.SCAN_USER
                )
                on_host = scan.mount_source(container, scan.INSIDE)
                kernel = KernelSession(
                    reader.server_url(enclave_hub.SCAN_PROJECT), {"Authorization": f"token {reader.token()}"}
                )
                ws_rounds, host_rounds = [], []
                for _ in range(args.scan_rounds):
                    ws_rounds.append(scan.in_kernel(kernel, scan.INSIDE, runs=5))
                    host_rounds.append(scan.on_host(on_host, runs=5, threads=host_threads))
            finally:
                if kernel is not None:
                    kernel.close()
                reader.stop(enclave_hub.SCAN_PROJECT)

            def best(rounds):
                merged = dict(rounds[-1])
                for key in ("query_best_s", "full_read_best_s"):
                    merged[key] = min(r[key] for r in rounds)
                merged["rounds"] = rounds
                return merged

            ws, host = best(ws_rounds), best(host_rounds)
            report["scan"] = {
                "bytes": host["bytes"],
                "participants": args.participants,
                "registered_folder": str(cohort),
                "host_folder": on_host,
                "spawn_s": spawn.seconds,
                "workspace_cpu_limit": args.scan_cpu_limit,
                "host_cpus": os.cpu_count(),
                "host_polars_max_threads": host_threads,
                "same_answer": scan.same_answer(ws["query_answer"], host["query_answer"]),
                "workspace": ws,
                "host": host,
            }

        run.phase("first spawns", 60, first_spawns)
        run.phase("single spawns", 90, single)
        run.phase("polars scan", 45, polars_scan)
        run.phase("spawns at once", 90, batch)
    except Exception as e:  # noqa: BLE001 - set-up failed: report it, clean up, exit non-zero
        report["errors"]["setup"] = f"{type(e).__name__}: {e}"
        traceback.print_exc()
        if enclave is not None:
            print("----- enclave hub log (tail) -----\n" + enclave.log_tail(), file=sys.stderr)
        if plain is not None:
            print("----- plain hub log (tail) -----\n" + plain.log_tail(), file=sys.stderr)
    finally:
        print("--- cleaning up", flush=True)
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            for hub, name in ((enclave, "enclave-hub.log"), (plain, "plain-hub.log")):
                if hub is not None and hub.log_path.exists():
                    shutil.copy(hub.log_path, args.logs / name)
        if enclave is not None:
            stop_hub(enclave)
            cleanup_instance(enclave.settings.instance)
        if plain is not None:
            plain.stop()
            cleanup_instance(plain.label)
        shutil.rmtree(root, ignore_errors=True)

    report["environment"]["load_average_at_end"] = os.getloadavg()
    report["rows"] = spawn_rows(report) + scan_rows(report)
    print()
    return publish(report, args.out, also=("skipped",))


if __name__ == "__main__":
    sys.exit(main())
