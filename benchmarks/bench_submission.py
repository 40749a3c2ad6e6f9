"""End-to-end submission-to-checks-done time for a 16 MB table.

Submits a ~16 MB CSV through the real airlock services (outbox read with
O_NOFOLLOW, content-addressed staging with fsync, the real automatic checks
against an identifier set, the database transaction) and times each run.

    python benchmarks/bench_submission.py --out bench-results/submission.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from egress_review.directory import InMemoryProject
from egress_review.services.context import default_checks_runner
from harness.airlock_kit import PROJECT, analyst, make_env

TARGET_BYTES = 16 * 1024 * 1024 - 64 * 1024  # just under the 16 MiB per-file limit


def make_table(target: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    regions = ["north", "south", "east", "west", "central"]
    lines = ["region,age_band,year,measure,n,rate"]
    size = len(lines[0]) + 1
    i = 0
    while size + 80 < target:
        line = (
            f"{regions[i % 5]},{20 + (i % 8) * 5}-{24 + (i % 8) * 5},{2000 + i % 24},m{i % 97},"
            f"{rng.randint(10, 5000)},{rng.random():.6f}"
        )
        lines.append(line)
        size += len(line) + 1
        i += 1
    return ("\n".join(lines) + "\n").encode()


def run_once(root: Path, table: bytes, identifiers: frozenset[str]) -> dict:
    env = make_env(root, checks=default_checks_runner)
    project: InMemoryProject = env.directory.projects[PROJECT]
    project.identifiers = identifiers
    env.write_outbox("tables/big.csv", table)
    a = env.airlock
    rid = a.requests.create(analyst(), PROJECT, "benchmark")
    a.requests.save_group(analyst(), rid, "main", context="benchmark table", controls="none")
    a.requests.add_file(analyst(), rid, "tables/big.csv", "main")
    start = time.perf_counter()
    a.requests.submit(analyst(), rid)
    seconds = time.perf_counter() - start
    from egress_review.services.views import request_detail

    detail = request_detail(env.ctx, analyst(), rid)
    [f] = detail["staged_files"]
    env.db.dispose()
    return {"seconds": seconds, "state": detail["state"], "verdicts": {c["rule"]: c["verdict"] for c in f["checks"]}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON to this path")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--identifiers", type=int, default=100_000, help="size of the project's identifier set")
    args = parser.parse_args(argv)

    table = make_table(TARGET_BYTES)
    identifiers = frozenset(str(9_000_000 + i) for i in range(args.identifiers))
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="egress-bench-") as tmp:
            runs.append(run_once(Path(tmp), table, identifiers))
    times = [r["seconds"] for r in runs]
    result = {
        "benchmark": "submission_to_checks_done",
        "file_bytes": len(table),
        "rows": table.count(b"\n") - 1,
        "identifiers": args.identifiers,
        "runs": args.runs,
        "seconds": times,
        "median_seconds": statistics.median(times),
        "min_seconds": min(times),
        "mb_per_second": len(table) / 1e6 / statistics.median(times),
        "verdicts": runs[-1]["verdicts"],
        "state": runs[-1]["state"],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(f"{'metric':<34} {'value':>14}")
    print(f"{'-' * 34} {'-' * 14}")
    print(f"{'file size (bytes)':<34} {result['file_bytes']:>14,}")
    print(f"{'table rows':<34} {result['rows']:>14,}")
    print(f"{'identifier set':<34} {result['identifiers']:>14,}")
    for i, t in enumerate(times, 1):
        print(f"{f'run {i}: submit → checks done (s)':<34} {t:>14.3f}")
    print(f"{'median (s)':<34} {result['median_seconds']:>14.3f}")
    print(f"{'throughput (MB/s)':<34} {result['mb_per_second']:>14.1f}")
    print(f"{'state after submit':<34} {result['state']:>14}")
    print("verdicts: " + ", ".join(f"{k}={v}" for k, v in result["verdicts"].items()))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
