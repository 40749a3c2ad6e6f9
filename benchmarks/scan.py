"""Polars over the cohort's Parquet files: the same code, in a workspace's kernel and on the host.

SOURCE is sent as-is to the workspace's kernel (through the hub's proxy) and
run as-is by the host's Python, so both sides time exactly the same work with
time.perf_counter: one warm-up, then the best of `runs`. It prints one line of
JSON. Two measurements:

- query: a representative analysis (diagnoses since 2010 joined to baseline
  measurements and demographics, filtered, grouped by ICD-10 chapter and sex);
  polars reads only the columns it needs.
- full_read: every column of every file decoded (pl.read_parquet).

Throughput is the size of the folder's Parquet files divided by the time.
The host reads the folder that is mounted in the workspace (mount_source),
so both sides read the same bytes.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

SOURCE = r"""
import glob, json, os, time
import polars as pl


def _encbench_scan(folder, runs):
    files = {os.path.basename(p)[: -len(".parquet")]: p for p in sorted(glob.glob(f"{folder}/*.parquet"))}

    def query():
        people = pl.scan_parquet(files["participants"])
        baseline = pl.scan_parquet(files["baseline"])
        diagnoses = pl.scan_parquet(files["diagnoses"])
        return (
            diagnoses.filter(pl.col("diagnosis_date") >= pl.date(2010, 1, 1))
            .join(baseline, on="participant_id", how="inner")
            .join(people, on="participant_id", how="inner")
            .filter(pl.col("bmi").is_not_null() & (pl.col("age_at_recruitment") >= 40))
            .group_by(pl.col("icd10_code").str.slice(0, 1).alias("chapter"), "sex")
            .agg(
                pl.len().alias("n"),
                pl.col("bmi").mean().alias("mean_bmi"),
                pl.col("systolic_bp").mean().alias("mean_sbp"),
                pl.col("participant_id").n_unique().alias("people"),
            )
            .sort("chapter", "sex")
            .collect()
        )

    def full_read():
        return [pl.read_parquet(p) for p in files.values()]

    def best(action):
        first = action()  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
        return first, min(times), times

    answer, query_s, query_times = best(query)
    frames, read_s, read_times = best(full_read)
    print(json.dumps({
        "polars": pl.__version__,
        "threads": pl.thread_pool_size(),
        "cpus_seen": os.cpu_count(),
        "bytes": sum(os.path.getsize(p) for p in files.values()),
        "files": sorted(files),
        "query_best_s": query_s,
        "query_times_s": query_times,
        "query_answer": answer.rows(),
        "full_read_best_s": read_s,
        "full_read_times_s": read_times,
        "full_read_rows": sum(f.height for f in frames),
    }))
"""


INSIDE = "/data/cohort/v1"  # where the workspace sees the benchmark's dataset


def mount_source(container, target: str) -> str:
    """The host folder bind-mounted at `target` in a running container."""
    container.reload()
    for mount in container.attrs["Mounts"]:
        if mount.get("Destination") == target:
            return mount["Source"]
    raise RuntimeError(f"{container.name} has nothing mounted at {target}")


def same_answer(a: list, b: list) -> bool:
    """Equal groups and counts; means equal to 1e-9 (parallel float sums may differ in the last bits)."""
    if len(a) != len(b):
        return False
    for row_a, row_b in zip(a, b, strict=True):
        for x, y in zip(row_a, row_b, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


def call(folder: str, runs: int) -> str:
    return SOURCE + f"\n_encbench_scan({folder!r}, {runs})\n"


def on_host(folder: str, runs: int, threads: int | None = None, timeout: float = 300) -> dict:
    env = dict(os.environ)
    env.pop("POLARS_MAX_THREADS", None)
    if threads is not None:
        env["POLARS_MAX_THREADS"] = str(threads)
    done = subprocess.run(
        [sys.executable, "-c", call(folder, runs)], env=env, capture_output=True, text=True, timeout=timeout, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def in_kernel(kernel, folder: str, runs: int, timeout: float = 300) -> dict:
    outcome = kernel.execute(call(folder, runs), timeout=timeout)
    if outcome.error:
        raise RuntimeError(f"the scan failed in the workspace: {outcome.error}\n{outcome.stderr}")
    return json.loads(outcome.stdout.strip().splitlines()[-1])
