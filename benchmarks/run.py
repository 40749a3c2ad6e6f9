"""`make bench`: run every benchmark, print one table, write bench-results/<name>.json and summary.json.

    python -m benchmarks.run [--out bench-results] [--only spawn,checks,submission,extracts,gwas,egress,load]

Each benchmark runs as its own process (its own CLI, its own JSON file), in
turn, so that none disturbs another's timings. Targets are printed with
pass/MISS and never change the exit status; a benchmark that crashes, finds
a wrong answer or overruns its time does (exit 1).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .table import render, row

REPO = Path(__file__).resolve().parents[1]


def checks_rows(result: dict) -> list[dict]:
    by_name = {r["name"]: r for r in result["results"]}
    ours, grep = by_name["participant_identifiers (ours)"], by_name["grep -F -f ids.txt"]
    grep_w = by_name["grep -F -w -f ids.txt"]
    same = result["agreement"]["same_as_grep_F_whole_words"] and result["agreement"].get("same_as_grep_F_w", True)
    mb = result["file_mb"]
    return [
        row(f"checks: identifiers in {mb:.0f} MB CSV (ours)", ours["seconds"], "s"),
        row("checks: identifiers (ours), throughput", ours["mb_per_s"], "MB/s"),
        row("checks: grep -F -f ids.txt, same file", grep["seconds"], "s"),
        row("checks: grep -F time / ours (faster than grep)", grep["ratio_to_ours"], "x", "> 1"),
        row(
            "checks: grep -F -w -f ids.txt, same file",
            grep_w["seconds"],
            "s",
            note="" if grep_w["seconds"] is not None else f"stopped after {grep_w['timed_out_after_s']:.0f} s",
        ),
        row("checks: same findings as grep", "yes" if same else "NO", ""),
    ] + corpus_rows(result.get("corpus"))


def corpus_rows(corpus: dict | None) -> list[dict]:
    """Issue 14: the checks' corpus of disguised leaks and legitimate outputs, and a 16 MB table."""
    if not corpus:
        return []
    return [
        row(
            f"checks: disguised leaks blocked ({corpus['leaks']}, {corpus['participants']:,}-participant extract)",
            round(100 * corpus["leaks_blocked"] / corpus["leaks"], 1),
            "%",
            ">= 95",
        ),
        row(f"checks: legitimate outputs blocked ({corpus['legitimate']})", corpus["legitimate_blocked"], "", "<= 0"),
        row(f"checks: {corpus['table_mb']:.0f} MB table, every check, cold", corpus["table_cold_seconds"], "s", "< 1"),
        row(f"checks: {corpus['table_mb']:.0f} MB table, every check, warm", corpus["table_warm_seconds"], "s", "< 1"),
    ]


def submission_rows(result: dict) -> list[dict]:
    mb = result["file_bytes"] / 1e6
    return [
        row(
            f"submission: {mb:.0f} MB table, submit to checks done (median of {result['runs']})",
            result["median_seconds"],
            "s",
        ),
        row("submission: throughput", result["mb_per_second"], "MB/s"),
    ]


def spawn_rows(result: dict) -> list[dict]:
    return result["rows"]  # bench_spawn writes its rows in this form already


def rows_as_written(result: dict) -> list[dict]:
    return result["rows"]  # bench_gwas, bench_extracts, bench_egress and bench_load write their rows in this form


@dataclass(frozen=True)
class Benchmark:
    name: str
    module: str
    args: tuple[str, ...]
    timeout: float  # seconds; then SIGTERM (it cleans up), then SIGKILL
    rows: Callable[[dict], list[dict]]


BENCHMARKS = (
    Benchmark("spawn", "benchmarks.bench_spawn", ("--budget", "420"), 540, spawn_rows),
    # --grep-w-timeout bounds the optional whole-word grep, which GNU grep runs very slowly.
    Benchmark("checks", "benchmarks.bench_checks", ("--mb", "100", "--grep-w-timeout", "45"), 360, checks_rows),
    Benchmark("submission", "benchmarks.bench_submission", (), 180, submission_rows),
    Benchmark("extracts", "benchmarks.bench_extracts", (), 900, rows_as_written),
    Benchmark("gwas", "benchmarks.bench_gwas", (), 2400, rows_as_written),
    Benchmark("egress", "benchmarks.bench_egress", (), 2400, rows_as_written),
    Benchmark("load", "benchmarks.bench_load", (), 2400, rows_as_written),
)


def run_one(bench: Benchmark, out: Path) -> dict:
    path = out / f"{bench.name}.json"
    path.unlink(missing_ok=True)  # never report a previous run's numbers
    command = [sys.executable, "-m", bench.module, "--out", str(path), *bench.args]
    print(f"\n===== {bench.name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO)
    timed_out = False
    try:
        code = process.wait(bench.timeout)
    except KeyboardInterrupt:
        # Ctrl-C reached the benchmark too: give it time to stop its hubs and remove its containers.
        try:
            process.wait(90)
        finally:
            raise
    except subprocess.TimeoutExpired:
        timed_out = True
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(90)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
    outcome = {
        "exit_code": code,
        "timed_out": timed_out,
        "seconds": round(time.monotonic() - started, 1),
        "json": str(path),
        "rows": [],
    }
    try:
        outcome["rows"] = bench.rows(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError) as e:
        outcome["error"] = f"no results from {bench.name}: {type(e).__name__}: {e}"
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for the JSON files")
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(b.name for b in BENCHMARKS))
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only.split(",")]
    if not chosen:
        parser.error(f"--only names none of: {', '.join(b.name for b in BENCHMARKS)}")
    args.out.mkdir(parents=True, exist_ok=True)

    started_at, started = datetime.now(UTC), time.monotonic()
    outcomes = {b.name: run_one(b, args.out) for b in chosen}
    rows = [r for outcome in outcomes.values() for r in outcome["rows"]]
    failed = {name: o for name, o in outcomes.items() if o["exit_code"] != 0 or o["timed_out"] or "error" in o}

    print("\n===== summary\n")
    print(render(rows))
    met = [r["met"] for r in rows if r["met"] is not None]
    print(f"\ntargets: {met.count(True)} met, {met.count(False)} missed (informational: they never fail the run)")
    for name, o in failed.items():
        print(f"{name}: exit {o['exit_code']}{', timed out' if o['timed_out'] else ''} {o.get('error', '')}")
    summary = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "rows": rows,
        "targets": {"met": met.count(True), "missed": met.count(False)},
        "benchmarks": {name: {k: v for k, v in o.items() if k != "rows"} for name, o in outcomes.items()},
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written to {args.out}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
