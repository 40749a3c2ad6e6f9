"""Benchmark: the participant_identifiers check against grep on the same file, in the same run;
the corpus of disguised leaks and legitimate outputs; a 16 MB table through every check.

    python benchmarks/bench_checks.py [--out bench-results/checks.json] [--mb 100] [--participants 500000]

Generates (seeded, in a temporary directory) 500,000 seven-digit identifiers
(ids.txt) and a results-like CSV of about --mb megabytes: a record number, an
identifier-like seven-digit reference (never an identifier, except in a few
rows), a group label, a measurement and a free-text note (a few notes mention
an identifier inside text, a few hold near misses such as 'x4810327' or
'48103279' that must not match). Then it times, best of --runs:

- ours: loading the file, detecting its kind, parsing the table, building the
  identifier index (cold: its cache is cleared) and running the rule;
- grep -F -f ids.txt (the issue's reference: substring matches, so a superset);
- grep -F -w -f ids.txt (whole words, the same semantics as ours), which GNU
  grep runs very slowly with 500,000 patterns; it gets --grep-w-timeout seconds.

All greps run with LC_ALL=C. Both sides must find the same lines and the same
identifier values: ours against grep -F -w when it finished, and against
grep -F's lines filtered to whole words (untimed) in any case.

Then (issue 14) it builds the checks' corpus (benchmarks/checks_corpus.py)
from a demo-sized extract (--participants, default 500,000, as the demo),
runs every check on every item and reports the share of disguised leaks
blocked (target >= 95%) and of legitimate outputs blocked (target 0); and
times run_checks on a 16 MB table (bench_submission's) with that extract's
identifiers and cohort tables: cold (identifier index and sketches dropped
from memory; sketches read from beside the extract) and warm, best of --runs
(target < 1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from egress_review.checks import RULES, CheckContext, ChecksConfig, Verdict
from egress_review.checks.identifiers import clear_cache, find_in_table
from egress_review.checks.subject import CheckedFile

SEED = 20240601
IDENTIFIERS = 500_000
PLANTED_CELLS = 40  # reference cells that are real identifiers
PLANTED_NOTES = 20  # notes with an identifier inside text
NEAR_MISSES = 20  # notes with an identifier glued to other word characters
WORD = re.compile(rb"[A-Za-z0-9_]+")


def generate(directory: Path, megabytes: float) -> tuple[Path, Path, frozenset[str]]:
    rng = np.random.default_rng(SEED)
    ids = rng.choice(np.arange(3_000_000, 10_000_000), IDENTIFIERS, replace=False)
    ids_path = directory / "ids.txt"
    ids_path.write_text("\n".join(map(str, ids)) + "\n")

    def frame(rows: int, first: int = 1) -> pl.DataFrame:
        notes = np.array(["", "ok", "see appendix", "checked, twice", "outlier removed"])
        return pl.DataFrame(
            {
                "record": np.arange(first, first + rows),
                "ref": rng.integers(1_000_000, 3_000_000, rows),  # identifier-like, never an identifier
                "group": [f"grp_{g:02d}" for g in rng.integers(0, 40, rows)],
                "value": np.round(rng.uniform(0, 1000, rows), 3),
                "note": notes[rng.integers(0, len(notes), rows)],
            }
        )

    sample = frame(10_000, first=1_000_000).write_csv()  # record numbers as wide as most
    rows = max(1, int(megabytes * 1_000_000 / (len(sample.encode()) / 10_000)))
    table = frame(rows)
    planted = rng.choice(rows, PLANTED_CELLS + PLANTED_NOTES + NEAR_MISSES, replace=False)
    chosen = rng.choice(ids, len(planted), replace=False)
    cells, notes, misses = np.split(planted, [PLANTED_CELLS, PLANTED_CELLS + PLANTED_NOTES])
    ref = table.get_column("ref").to_numpy().copy()
    ref[cells] = chosen[:PLANTED_CELLS]
    note = table.get_column("note").to_numpy().copy()
    for row, value in zip(notes, chosen[PLANTED_CELLS : PLANTED_CELLS + PLANTED_NOTES], strict=True):
        note[row] = f"follow-up of {value} pending"
    for i, (row, value) in enumerate(zip(misses, chosen[PLANTED_CELLS + PLANTED_NOTES :], strict=True)):
        note[row] = (f"x{value}", f"{value}9", f"{value}_b", f"0{value}")[i % 4]
    table = table.with_columns(pl.Series("ref", ref), pl.Series("note", note))
    csv_path = directory / "results.csv"
    table.write_csv(csv_path)
    return csv_path, ids_path, frozenset(map(str, ids))


def best_of(runs: int, action, timeout: float | None = None) -> tuple[float | None, object]:
    best, outcome = None, None
    for _ in range(runs):
        start = time.perf_counter()
        outcome = action()
        elapsed = time.perf_counter() - start
        if outcome is TIMEOUT:
            return None, outcome
        best = elapsed if best is None else min(best, elapsed)
        if timeout is not None and elapsed * 2 > timeout:
            break  # one more run would not fit
    return best, outcome


TIMEOUT = object()


def ours(csv_path: Path, identifiers: frozenset[str]):
    def action():
        clear_cache()
        file = CheckedFile.load(csv_path)
        context = CheckContext(identifiers=identifiers, config=ChecksConfig(max_file_bytes=2**40))
        return RULES["participant_identifiers"].run(file, context)

    return action


def grep(csv_path: Path, ids_path: Path, whole_words: bool, timeout: float | None):
    command = ["grep", "-n", "-F"] + (["-w"] if whole_words else []) + ["-f", str(ids_path), str(csv_path)]
    env = dict(os.environ, LC_ALL="C")

    def action():
        try:
            done = subprocess.run(command, env=env, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return TIMEOUT
        if done.returncode not in (0, 1):
            raise RuntimeError(done.stderr.decode(errors="replace"))
        return done.stdout

    return action


def grep_lines(output: bytes) -> dict[int, bytes]:
    lines = {}
    for line in output.splitlines():
        number, _, text = line.partition(b":")
        lines[int(number)] = text
    return lines


def whole_word_values(lines: dict[int, bytes], identifiers: frozenset[str]) -> dict[int, set[str]]:
    found = {}
    for number, text in lines.items():
        values = {w.decode() for w in WORD.findall(text)} & identifiers
        if values:
            found[number] = values
    return found


def our_values(csv_path: Path, identifiers: frozenset[str]) -> dict[int, set[str]]:
    """Line number -> identifiers found, from the rule's own matcher (line = data row + 2)."""
    file = CheckedFile.load(csv_path)
    matches = find_in_table(file.table, identifiers)
    found: dict[int, set[str]] = {}
    for row, column in matches.cells.select("row", "column").iter_rows():
        cell = file.table.row(row)[column]
        found.setdefault(row + 2, set()).update({w.decode() for w in WORD.findall(cell.encode())} & identifiers)
    return found


def corpus_and_table(participants: int, runs: int) -> dict:
    """The corpus's shares and the 16 MB table's time (issue 14)."""
    from benchmarks.bench_submission import TARGET_BYTES, make_table
    from benchmarks.checks_corpus import build_corpus
    from egress_review.checks import run_checks
    from egress_review.checks.cohort_sketch import clear_cache as clear_sketches
    from egress_review.checks.identifier_forms import clear_cache as clear_forms
    from egress_review.checks.rules.row_level_data import clear_cache as clear_pairs

    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
        started = time.perf_counter()
        corpus = build_corpus(Path(tmp), participants=participants)
        built = time.perf_counter() - started
        outcomes = []
        started = time.perf_counter()
        for item in corpus.items:
            blocking = [r.rule for r in run_checks(item.path, corpus.context) if r.verdict.blocks]
            outcomes.append({"name": item.name, "leak": item.leak, "kind": item.kind, "blocked_by": blocking})
        checked = time.perf_counter() - started
        leaks = [o for o in outcomes if o["leak"]]
        legitimate = [o for o in outcomes if not o["leak"]]
        table = Path(tmp) / "table_16mb.csv"
        table.write_bytes(make_table(TARGET_BYTES))

        def check_table(cold: bool):
            def action():
                if cold:
                    clear_cache()
                    clear_sketches()
                    clear_forms()
                    clear_pairs()
                return run_checks(table, corpus.context)

            return action

        cold_s, results = best_of(runs, check_table(True))
        warm_s, _ = best_of(runs, check_table(False))
        print(f"\ncorpus of a {participants:,}-participant extract: built in {built:.1f} s, checked in {checked:.1f} s")
        print(f"  disguised leaks blocked: {sum(1 for o in leaks if o['blocked_by'])}/{len(leaks)}")
        print(f"  legitimate outputs blocked: {sum(1 for o in legitimate if o['blocked_by'])}/{len(legitimate)}")
        for o in outcomes:
            if bool(o["blocked_by"]) != o["leak"]:
                print(f"    {'missed' if o['leak'] else 'BLOCKED'}: {o['name']} ({o['kind']})")
        print(
            f"16 MB table ({table.stat().st_size / 1e6:.1f} MB), every check: cold {cold_s:.2f} s, warm {warm_s:.2f} s"
        )
        return {
            "participants": participants,
            "leaks": len(leaks),
            "leaks_blocked": sum(1 for o in leaks if o["blocked_by"]),
            "legitimate": len(legitimate),
            "legitimate_blocked": sum(1 for o in legitimate if o["blocked_by"]),
            "items": outcomes,
            "table_mb": round(table.stat().st_size / 1e6, 1),
            "table_cold_seconds": round(cold_s, 3),
            "table_warm_seconds": round(warm_s, 3),
            "table_verdicts": {r.rule: r.verdict.value for r in results},
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--mb", type=float, default=100, help="size of the CSV in megabytes (default 100)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument(
        "--participants",
        type=int,
        default=500_000,
        help="participants of the corpus's extract (default 500,000, as the demo; 0 skips it)",
    )
    parser.add_argument(
        "--grep-w-timeout",
        type=float,
        default=300,
        help="seconds allowed to one grep -F -w run (default 300)",
    )
    args = parser.parse_args(argv)
    if shutil.which("grep") is None:
        print("grep is not installed", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-checks-") as tmp:
        csv_path, ids_path, identifiers = generate(Path(tmp), args.mb)
        size_mb = csv_path.stat().st_size / 1_000_000
        print(f"{size_mb:.1f} MB CSV, {len(identifiers):,} identifiers, best of {args.runs}", flush=True)

        ours_s, result = best_of(args.runs, ours(csv_path, identifiers))
        assert result.verdict is Verdict.BLOCK, result.summary
        grep_s, grep_out = best_of(args.runs, grep(csv_path, ids_path, False, None))
        grep_w_s, grep_w_out = best_of(
            args.runs, grep(csv_path, ids_path, True, args.grep_w_timeout), args.grep_w_timeout
        )

        mine = our_values(csv_path, identifiers)
        from_grep = whole_word_values(grep_lines(grep_out), identifiers)
        agreement = {
            "lines_found": len(mine),
            "planted_lines": PLANTED_CELLS + PLANTED_NOTES,
            "same_as_grep_F_whole_words": mine == from_grep,
            "grep_F_lines (substring matches)": len(grep_lines(grep_out)),
        }
        if grep_w_out is not TIMEOUT:
            agreement["same_as_grep_F_w"] = mine == whole_word_values(grep_lines(grep_w_out), identifiers)
            agreement["grep_F_w_lines"] = len(grep_lines(grep_w_out))

    rows = [
        ("participant_identifiers (ours)", ours_s),
        ("grep -F -f ids.txt", grep_s),
        ("grep -F -w -f ids.txt", grep_w_s),
    ]
    print(f"\n{'':32} {'seconds':>10} {'MB/s':>8} {'grep/ours':>10}")
    report_rows = []
    for name, seconds in rows:
        if seconds is None:
            print(f"{name:32} {'> ' + format(args.grep_w_timeout, '.0f'):>10} {'-':>8} {'-':>10}")
        else:
            ratio = seconds / ours_s
            print(f"{name:32} {seconds:10.2f} {size_mb / seconds:8.1f} {ratio:10.2f}")
        report_rows.append(
            {
                "name": name,
                "seconds": None if seconds is None else round(seconds, 3),
                "timed_out_after_s": args.grep_w_timeout if seconds is None else None,
                "mb_per_s": None if seconds is None else round(size_mb / seconds, 1),
                "ratio_to_ours": None if seconds is None else round(seconds / ours_s, 2),
            }
        )
    print("\nagreement:", json.dumps(agreement))
    ok = agreement["same_as_grep_F_whole_words"] and agreement.get("same_as_grep_F_w", True)
    faster = grep_s is not None and ours_s < grep_s
    print("ours is faster than grep -F" if faster else "ours is NOT faster than grep -F")

    report = {
        "benchmark": "checks.participant_identifiers",
        "file_mb": round(size_mb, 1),
        "identifiers": len(identifiers),
        "runs": args.runs,
        "results": report_rows,
        "agreement": agreement,
        "faster_than_grep": faster,
        "environment": {
            "python": platform.python_version(),
            "polars": pl.__version__,
            "cpus": os.cpu_count(),
            "grep": subprocess.run(["grep", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
        },
    }
    if args.participants:
        report["corpus"] = corpus_and_table(args.participants, args.runs)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written to {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
