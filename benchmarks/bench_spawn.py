"""Benchmark: the enclave's spawn-to-ready latency against a plain DockerSpawner, and polars in a workspace.

    python -m benchmarks.bench_spawn [--out bench-results/spawn.json]

In one run, on this machine, with the workspace image already built:

1. a real enclave (hub_config/jupyterhub_config.py, EnclaveSpawner, real
   logins) and a plain JupyterHub (benchmarks/plain_hub_config.py: stock
   DockerSpawner, shared-password DummyAuthenticator, ordinary bridge
   network, no hardening) run side by side on loopback, with the same image;
2. spawn-to-ready, one at a time (--single spawns per hub, the hubs taking
   turns, each server stopped before the next), then --batch users of one
   project started at the same moment (enclave first, then plain);
3. a 500,000-participant cohort, registered and approved for a project with
   a CPU limit equal to the host's cores (--scan-cpu-limit), is queried with
   polars in that project's workspace kernel (over the hub's proxy) and by the
   host's Python on the same files, in alternating rounds.

Targets from the issue are printed next to the figures and never fail the run.
Everything created carries an `encbench-...` instance label and is removed at
the end, on error and on SIGTERM too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import docker
import polars as pl

import dockerspawner
import jupyterhub
from enclave.cohort import generate_cohort
from enclave.images.catalog import image_tag
from tests.support.enclave import cleanup_instance, start_hub, stop_hub
from tests.support.hub import HubUser
from tests.support.kernel import KernelSession

from . import enclave_hub, scan, spawning
from .plain_hub import PlainHub
from .table import render, row

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
            self.report["skipped"].append(f"{name}: {self.left():.0f} s of the time budget left, "
                                          f"{needs_seconds:.0f} s needed")
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


PHASES = (  # (key in the phase split, label)
    ("post_to_container_created", "POST -> container created"),
    ("container_created_to_started", "container created -> started"),
    ("container_started_to_server_listening", "started -> server listening"),
    ("server_listening_to_ready_seen", "listening -> hub sees it ready"),
)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def spawn_rows(report: dict) -> list[dict]:
    single, batch = report.get("single", {}), report.get("batch", {})
    rows = []
    for side in ("enclave", "plain"):
        rows.append(row(f"{side}: first spawn (not counted)", report.get("first_spawn_s", {}).get(side), "s"))
        s = single.get(side, {})
        rows += [row(f"{side}: single spawn p50 (n={s.get('n', 0)})", s.get("p50_s"), "s",
                     "< 3" if side == "enclave" else ""),
                 row(f"{side}: single spawn p95", s.get("p95_s"), "s")]
        b = batch.get(side, {})
        users = b.get("users", "?")
        rows += [row(f"{side}: {users} at once p50 (ok={b.get('n', 0)})", b.get("p50_s"), "s"),
                 row(f"{side}: {users} at once p95", b.get("p95_s"), "s"),
                 row(f"{side}: {users} at once, wall time for all", b.get("wall_s"), "s")]
        for key, label in PHASES:
            rows.append(row(f"{side}: single, median {label}", s.get("phases_median_s", {}).get(key), "s"))
        rows.append(row(f"{side}: {users} at once, median started -> server listening",
                        b.get("phases_median_s", {}).get("container_started_to_server_listening"), "s"))

    def p50(group, side, key="p50_s"):
        return group.get(side, {}).get(key)

    rows += [
        row("spawn ratio enclave/plain, single p50", _ratio(p50(single, "enclave"), p50(single, "plain")), "x",
            "< 1.3"),
        row("spawn ratio enclave/plain, at-once p50", _ratio(p50(batch, "enclave"), p50(batch, "plain")), "x",
            "< 1.3"),
        row("spawn ratio enclave/plain, single POST -> listening p50",
            _ratio(p50(single, "enclave", "to_listening_p50_s"), p50(single, "plain", "to_listening_p50_s")), "x",
            note="without the hub's randomised readiness polling, which adds 0.1-2.5 s to any spawn"),
    ]
    return rows


def scan_rows(report: dict) -> list[dict]:
    result = report.get("scan")
    if not result:
        return [row("polars scan: workspace/host throughput", None, "x", ">= 0.95")]
    mb = result["bytes"] / 1e6
    ws, host = result["workspace"], result["host"]
    fairness = (f"workspace CPU limit {result['workspace_cpu_limit']} ({ws['threads']} polars threads), host "
                f"{result['host_cpus']} cores ({host['threads']} threads, POLARS_MAX_THREADS="
                f"{result['host_polars_max_threads'] or 'unset'}); polars {ws['polars']} in the workspace, "
                f"{host['polars']} on the host; same answer: {result['same_answer']}")
    rows = []
    for key, label in (("query", "query (join+filter+group_by)"), ("full_read", "full read (all columns)")):
        ws_s, host_s = ws[f"{key}_best_s"], host[f"{key}_best_s"]
        rows += [
            row(f"polars {label}: workspace", mb / ws_s, "MB/s"),
            row(f"polars {label}: host", mb / host_s, "MB/s"),
            row(f"polars {label}: workspace/host", host_s / ws_s, "x", ">= 0.95" if key == "query" else "",
                note=fairness if key == "query" else ""),
        ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--single", type=int, default=8, help="one-at-a-time spawns per hub (default 8)")
    parser.add_argument("--batch", type=int, default=10, help="users started at once per hub (default 10)")
    parser.add_argument("--participants", type=int, default=500_000, help="cohort size (default 500,000)")
    parser.add_argument("--scan-rounds", type=int, default=3,
                        help="alternating workspace/host rounds, each a warm-up and best of 5 (default 3)")
    parser.add_argument("--scan-cpu-limit", type=float, default=float(os.cpu_count() or 1),
                        help="the scan project's CPU limit (default: the host's cores, so both sides may "
                             "use the same CPUs); below that, the host runs with POLARS_MAX_THREADS set to it")
    parser.add_argument("--logs", type=Path, help="keep both hubs' logs in this folder")
    parser.add_argument("--budget", type=float, default=480,
                        help="seconds for the whole run; phases that would not fit are skipped (default 480)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)

    image = image_tag("workspace")
    try:
        docker.from_env().images.get(image)
    except docker.errors.DockerException as e:
        print(f"The workspace image {image} is not available ({e}); run 'make images'.", file=sys.stderr)
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

        users = {"enclave": [enclave.login(name) for name in analysts],
                 "plain": [HubUser(plain.url, name, plain.password) for name in analysts]}
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
                    report["first_spawn_s"][side] = spawning.timed_start(user, project, SINGLE_POLL,
                                                                         SPAWN_TIMEOUT).seconds
                finally:
                    user.stop(project)

        def single():
            sides = {side: (users[side][0], project, finders[side]) for side in ("enclave", "plain")}
            report["single"] = spawning.run_single_series(
                sides, args.single, SINGLE_POLL, SPAWN_TIMEOUT, in_time=lambda: run.left() > 60)

        def batch():
            report["batch"] = {}
            for side in ("enclave", "plain"):
                if run.left() < 90:
                    report["skipped"].append(f"batch {side}: out of time")
                    continue
                spawns, failures, wall = spawning.start_many(users[side], project, BATCH_POLL,
                                                             min(SPAWN_TIMEOUT, run.left() - 30), finders[side])
                try:
                    summary = spawning.summarise(spawns, failures)
                    report["batch"][side] = {**summary, "users": len(users[side]), "wall_s": wall}
                finally:
                    spawning.stop_all(users[side], project)
                time.sleep(3)  # let the engine settle before the next side

        def polars_scan():
            reader = enclave.login(enclave_hub.SCAN_USER)
            spawn = spawning.timed_start(reader, enclave_hub.SCAN_PROJECT, SINGLE_POLL, SPAWN_TIMEOUT)
            host_threads = None
            if args.scan_cpu_limit < (os.cpu_count() or 1):
                host_threads = max(1, int(args.scan_cpu_limit))
            kernel = None
            try:
                kernel = KernelSession(reader.server_url(enclave_hub.SCAN_PROJECT),
                                       {"Authorization": f"token {reader.token()}"})
                inside = "/data/cohort/v1"
                ws_rounds, host_rounds = [], []
                for _ in range(args.scan_rounds):
                    ws_rounds.append(scan.in_kernel(kernel, inside, runs=5))
                    host_rounds.append(scan.on_host(str(cohort), runs=5, threads=host_threads))
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
                "spawn_s": spawn.seconds,
                "workspace_cpu_limit": args.scan_cpu_limit,
                "host_cpus": os.cpu_count(),
                "host_polars_max_threads": host_threads,
                "same_answer": ws["query_answer_sha256"] == host["query_answer_sha256"],
                "workspace": ws,
                "host": host,
            }

        run.phase("first spawns", 60, first_spawns)
        run.phase("single spawns", 90, single)
        run.phase("spawns at once", 120, batch)
        run.phase("polars scan", 45, polars_scan)
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
    print(render(report["rows"]))
    if report["errors"] or report["skipped"]:
        print("\nerrors:", json.dumps(report["errors"]), "\nskipped:", json.dumps(report["skipped"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"written to {args.out}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
