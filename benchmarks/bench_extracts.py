"""Benchmark: materialising a project's extract of a 500,000-participant cohort, and `enclave trace` on 100 MB.

    python -m benchmarks.bench_extracts [--out bench-results/extracts.json] [--participants 500000] [--mb 100]

Both are timed as an operator meets them: the real `enclave` commands, each
in its own process against a fresh installation's state (a temporary
ENCLAVE_STATE_DIR), wall time and peak memory (the child's maximum RSS).

- Materialisation: `enclave dataset approve <project> cohort v1` for two
  projects in turn (each writes its own pseudonymised extract with canaries
  and a manifest). Throughput is the cohort's participants, and the source
  Parquet bytes, per second.
- Tracing: a leaked CSV of about --mb megabytes cut from the second project's
  extract (participants joined to baseline measurements, rows repeated until
  the size is reached), then `enclave trace FILE`. Its answer must name that
  project, and only it, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from enclave.cohort import generate_cohort
from enclave.extracts.store import extract_folder
from enclave.settings import EnclaveSettings

from .table import publish, row

PROJECTS = ("extracta", "extractb")
ENCLAVE = str(Path(sys.executable).parent / "enclave")


def run_measured(command: list[str], env: dict) -> dict:
    """Run a command; wall time, its own peak RSS in MB (from wait4) and its output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # wait4: the child's own peak RSS
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:])} failed ({process.returncode}):\n{stderr[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "stdout": stdout}


def leaked_csv(extract: Path, path: Path, megabytes: float) -> dict:
    """A CSV of extract rows (participants joined to baseline), repeated up to about `megabytes`."""
    rows = pl.read_parquet(extract / "participants.parquet").join(
        pl.read_parquet(extract / "baseline.parquet"), on="participant_id", how="inner"
    )
    block = rows.write_csv().encode()
    header, body = block.split(b"\n", 1)
    target = int(megabytes * 1e6)
    with path.open("wb") as out:
        out.write(header + b"\n")
        written = len(header) + 1
        while written < target:
            chunk = body[: target - written] if written + len(body) > target else body
            chunk = chunk[: chunk.rfind(b"\n") + 1]  # whole lines only
            out.write(chunk)
            written += len(chunk)
            if not chunk:
                break
    return {"bytes": path.stat().st_size, "rows_in_extract": rows.height}


def extract_rows(report: dict) -> list[dict]:
    m, t = report.get("materialise"), report.get("trace")
    rows = []
    if m:
        n = m["participants"]
        rows += [
            row(f"extracts: materialise {n:,} participants (enclave dataset approve)", m["best_s"], "s"),
            row("extracts: materialisation throughput", m["participants_per_s"], "participants/s"),
            row("extracts: materialisation throughput, source Parquet", m["mb_per_s"], "MB/s"),
            row("extracts: materialisation peak memory", m["peak_rss_mb"], "MB"),
        ]
    if t:
        rows += [
            row(f"trace: {t['mb']:.0f} MB CSV cut from one project's extract", t["seconds"], "s"),
            row("trace: throughput", t["mb_per_s"], "MB/s"),
            row("trace: peak memory", t["peak_rss_mb"], "MB"),
            row("trace: names the right project, and only it", "yes" if t["correct"] else "NO", ""),
        ]
    return rows or [row("extracts", None, "", note="did not run")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--participants", type=int, default=500_000, help="cohort size (default 500,000)")
    parser.add_argument("--mb", type=float, default=100, help="size of the leaked file to trace (default 100)")
    args = parser.parse_args(argv)

    report: dict = {"errors": {}, "load_average_at_start": os.getloadavg()}
    root = Path(tempfile.mkdtemp(prefix="encbench-extracts-"))
    try:
        cohort = root / "data" / "cohort" / "v1"
        started = time.perf_counter()
        generate_cohort(cohort, participants=args.participants)
        report["generate_s"] = time.perf_counter() - started
        source_bytes = sum(p.stat().st_size for p in cohort.glob("*.parquet"))
        env = dict(os.environ, ENCLAVE_STATE_DIR=str(root / "state"), ENCLAVE_INSTANCE="encbench-extracts")
        run_measured([ENCLAVE, "dataset", "register", "cohort", "v1", str(cohort)], env)
        approvals = []
        for project in PROJECTS:
            run_measured([ENCLAVE, "project", "create", project], env)
            approvals.append(run_measured([ENCLAVE, "dataset", "approve", project, "cohort", "v1"], env))
        best = min(a["seconds"] for a in approvals)
        report["materialise"] = {
            "participants": args.participants,
            "source_bytes": source_bytes,
            "runs_s": [a["seconds"] for a in approvals],
            "best_s": best,
            "participants_per_s": args.participants / best,
            "mb_per_s": source_bytes / 1e6 / best,
            "peak_rss_mb": max(a["peak_rss_mb"] for a in approvals),
        }

        settings = EnclaveSettings(state_dir=str(root / "state"), instance="encbench-extracts")
        leaked = root / "found-on-a-laptop.csv"
        made = leaked_csv(extract_folder(settings, PROJECTS[1], "cohort", "v1"), leaked, args.mb)
        traced = run_measured([ENCLAVE, "trace", str(leaked)], env)
        named = set(re.findall(r"^Project (\S+): confidence (\w+)", traced["stdout"], re.M))
        high = {p for p, confidence in named if confidence != "low"}
        report["trace"] = {
            **made,
            "mb": made["bytes"] / 1e6,
            "seconds": traced["seconds"],
            "mb_per_s": made["bytes"] / 1e6 / traced["seconds"],
            "peak_rss_mb": traced["peak_rss_mb"],
            "answer": traced["stdout"],
            "correct": high == {PROJECTS[1]},
        }
        if not report["trace"]["correct"]:
            report["errors"]["answer"] = f"trace named {sorted(named)}, expected {PROJECTS[1]} only"
    except Exception as e:  # noqa: BLE001 - report, clean up, exit non-zero
        report["errors"]["run"] = f"{type(e).__name__}: {e}"
    finally:
        shutil.rmtree(root, ignore_errors=True)

    report["load_average_at_end"] = os.getloadavg()
    report["rows"] = extract_rows(report)
    return publish(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
