"""Benchmark: nothing leaves unreviewed (issue 9): days to extract, a normal day's share, the edge's overhead.

    python -m benchmarks.bench_egress [--out bench-results/egress.json] [--parts days,day,overhead]

One real enclave (`encbench-<hex>`, the real hub, edge, workspaces and Chromium), seeded with the
demo installation exactly as `enclave demo seed` makes it (500,000 participants, the genotypes
dataset, project `demo`), at the enclave's default metering settings:

1. days: how many days the demo project's extracts take to leave through metered channels, for
   one person and for the whole project, from the budget model and measured through real
   MeteredStreams (benchmarks/egress_days.py);
2. day: a normal analyst day in Chromium in a demo-like genomics project (the demo's cohort and
   genotypes, so its budget is sized like the demo's) and the share of that default daily budget it
   used; the project is given a budget that does not cut the day, so the whole day is counted
   (benchmarks/analyst_day.py);
3. overhead: a JupyterLab page load and kernel output through the edge against straight to the
   hub's proxy, interleaved (benchmarks/edge_overhead.py). That person's project has a budget far
   above what the benchmark sends, so the meter measures everything and cuts nothing.

Targets from the issue are printed next to the figures and never fail the run. Everything created
carries the instance label and is removed at the end, on error and on SIGTERM too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import requests

from enclave.demo import PROJECT as DEMO_PROJECT
from enclave.demo import seed_demo
from enclave.images.catalog import image_tag
from enclave.operations import datasets, people, projects
from harness.enclave import start_hub
from harness.hub import HubUser

from . import analyst_day, edge_overhead, egress_days, enclave_hub
from .chromium import chromium_page, log_in, start_from_home
from .images import available_image
from .table import publish, row

PARTS = ("days", "day", "overhead")
DAY_PROJECT, DAY_PERSON = "dayofwork", "ada"  # demo-like, on the genomics image
SPEED_PROJECT, SPEED_PERSON = "edgespeed", "sid"
SPEED_BUDGET = 1 << 40  # bytes: far above what the overhead part sends, so nothing is cut
DAY_BUDGET = 1 << 30  # bytes: the day runs to its end; its share is taken of the project's default budget
PROJECT_MEMBERS = 3  # people of the demo project pushing together in the whole-project measurement


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # runs the finally blocks: hub stopped, containers removed


def _utc_day():
    return datetime.now(UTC).date()


# --- 1. days to extract --------------------------------------------------------------------------


def days_to_extract(enclave, passwords: dict, result: dict) -> None:
    ctx = enclave.ctx
    result["model"] = egress_days.budget_model(ctx, DEMO_PROJECT)
    files = egress_days.extract_files(ctx, DEMO_PROJECT)
    result["files"] = [str(p.relative_to(ctx.settings.state_path)) for p in files]
    members = ["analyst"]  # the demo's analyst, then colleagues for the whole-project measurement
    for i in range(2, PROJECT_MEMBERS + 1):
        name = f"analyst{i}"
        passwords[name] = people.add_user(ctx, name, ["analyst"]).initial_password
        people.add_member(ctx, DEMO_PROJECT, name)
        members.append(name)
    for key, make in (("as_they_are", egress_days.as_they_are), ("compressed_first", egress_days.compressed_first)):
        blobs = make(files)
        result[key] = measured = {"information": egress_days.information_counted(blobs)}
        measured["one_person"] = egress_days.pushed_until_refused(
            ctx.settings, ctx.db, members[:1], DEMO_PROJECT, blobs
        )
        measured["whole_project"] = egress_days.pushed_until_refused(ctx.settings, ctx.db, members, DEMO_PROJECT, blobs)


# --- 2. a normal analyst day ---------------------------------------------------------------------


def prepare_day(enclave, passwords: dict) -> dict:
    """A genomics project with the demo's cohort (as cohort@v1, where the example notebooks read it) and genotypes.

    Returns the project's default budget (derived from its extracts at default settings); the project
    then gets a budget that does not cut the day, so the day's whole count can be compared with it.
    """
    ctx = enclave.ctx
    demo_cohort = ctx.settings.datasets_dir / "demo-cohort" / "v1"
    datasets.register_dataset(ctx, "cohort", "v1", demo_cohort)
    projects.create_project(ctx, DAY_PROJECT, image="genomics")
    # Hail's JVM needs more than the default memory (docs/operators.md: genomics projects).
    projects.set_limits(ctx, DAY_PROJECT, mem_limit="4G", cpu_limit=float(os.cpu_count() or 1))
    datasets.approve_dataset(ctx, DAY_PROJECT, "cohort", "v1")
    datasets.approve_dataset(ctx, DAY_PROJECT, "genotypes", "v1")
    passwords[DAY_PERSON] = people.add_user(ctx, DAY_PERSON, ["analyst"]).initial_password
    people.add_member(ctx, DAY_PROJECT, DAY_PERSON)
    default = egress_days.budget_model(ctx, DAY_PROJECT)
    projects.set_egress_budget(ctx, DAY_PROJECT, DAY_BUDGET)
    return default


def release_request(enclave, password: str) -> str:
    """The day's four outputs in one release request, through the airlock's API (as test_examples does)."""
    person = HubUser(enclave.url, DAY_PERSON, password)
    headers = {"Authorization": f"token {person.token()}"}
    api = f"{enclave.url}{analyst_day.AIRLOCK}/api"

    def post(path: str, body: dict | None = None) -> dict:
        reply = requests.post(f"{api}{path}", headers=headers, json=body, timeout=120, verify=enclave.ca_file)
        if reply.status_code not in (200, 201):
            raise RuntimeError(f"airlock {path}: {reply.status_code} {reply.text[:300]}")
        return reply.json()

    rid = post("/requests", {"project": DAY_PROJECT, "title": "BMI by age and sex; GWAS hits"})["id"]
    post(
        f"/requests/{rid}/groups",
        {
            "name": "results",
            "context": "BMI by age band and sex; GWAS hits",
            "controls": "cells under 10 suppressed, counts rounded to 5; per-variant statistics only",
        },
    )
    for name in analyst_day.OUTPUTS:
        post(f"/requests/{rid}/files", {"path": name, "group": "results"})
    post(f"/requests/{rid}/submit")
    return rid


def analyst_day_share(
    enclave, passwords: dict, cell_timeout_s: float, default_budget: dict, result: dict, screenshot: Path | None
) -> None:
    ctx = enclave.ctx
    home = ctx.settings.projects_dir / DAY_PROJECT / "homes" / DAY_PERSON
    notebooks = analyst_day.place_notebooks(home)
    first_day = _utc_day()
    started = time.monotonic()
    result["default_budget"], result["base"] = default_budget, enclave.url
    steps = result["steps"] = {}
    refused = result["refused"] = []  # answers >= 400 and websockets the edge closed: why a day stopped
    with chromium_page() as page:
        analyst_day.watch_refusals(page, refused)
        try:
            log_in(page, enclave.url, DAY_PERSON, passwords[DAY_PERSON])
            start_from_home(page, enclave.url, DAY_PERSON, DAY_PROJECT)
            steps["lab_open_s"] = time.monotonic() - started
            result["outputs_shown"] = analyst_day.work_in_lab(page, notebooks, cell_timeout_s)
            steps["notebooks_s"] = time.monotonic() - started - steps["lab_open_s"]
            result["request"] = release_request(enclave, passwords[DAY_PERSON])
            result["airlock_pages"] = analyst_day.browse_airlock(page, enclave.url, result["request"])
            page.goto(f"{enclave.url}/hub/home")
        except BaseException:  # SIGTERM too: the screenshot says where the day was
            if screenshot is not None:
                page.screenshot(path=str(screenshot))  # what the person would have seen when it failed
            raise
        finally:
            steps["day_s"] = time.monotonic() - started
            days = sorted({first_day, _utc_day()})  # a day that crosses midnight UTC is summed over both
            result["utc_days"] = [d.isoformat() for d in days]
            result["usage"] = analyst_day.settled_usage(ctx, DAY_PERSON, days)
    result["plots"] = analyst_day.plots_information(home / analyst_day.EXPLORATION)


# --- 3. the edge's overhead ----------------------------------------------------------------------


def prepare_overhead(enclave, passwords: dict) -> None:
    ctx = enclave.ctx
    projects.create_project(ctx, SPEED_PROJECT)
    projects.set_egress_budget(ctx, SPEED_PROJECT, SPEED_BUDGET)
    passwords[SPEED_PERSON] = people.add_user(ctx, SPEED_PERSON, ["analyst"]).initial_password
    people.add_member(ctx, SPEED_PROJECT, SPEED_PERSON)


def edge_overhead_measured(
    enclave, passwords: dict, page_rounds: int, kernel_mb: float, kernel_rounds: int, result: dict
) -> None:
    person = HubUser(enclave.url, SPEED_PERSON, passwords[SPEED_PERSON])
    reply = person.start(SPEED_PROJECT)
    if reply.status_code not in (201, 202):
        raise RuntimeError(f"the {SPEED_PROJECT} workspace did not start: {reply.status_code} {reply.text[:300]}")
    token = person.token()
    server_path = f"/user/{SPEED_PERSON}/{SPEED_PROJECT}"
    try:
        with chromium_page() as page:
            log_in(page, enclave.url, SPEED_PERSON, passwords[SPEED_PERSON])
            paths = edge_overhead.record_lab_requests(page, enclave.url + server_path)
        pair = edge_overhead.sides(enclave.url, enclave.ca_file, enclave.inner_url)
        result["page"] = asyncio.run(edge_overhead.page_loads(pair, paths, token, page_rounds))
        result["kernel"] = asyncio.run(edge_overhead.kernel_output(pair, server_path, token, kernel_mb, kernel_rounds))
        if any(result["kernel"]["permessage_deflate"].values()):  # what compressing frames costs, if agreed
            result["kernel_no_deflate"] = asyncio.run(
                edge_overhead.kernel_output(pair, server_path, token, kernel_mb, kernel_rounds, deflate=False)
            )
        result["information_measure"] = edge_overhead.information_measure_rate(kernel_mb)
    finally:
        person.stop(SPEED_PROJECT)


# --- the table -----------------------------------------------------------------------------------


def egress_rows(report: dict) -> list[dict]:
    rows = []
    if report.get("days"):
        rows += egress_days.days_rows(report["days"])
    if report.get("day", {}).get("usage") is not None:
        rows += analyst_day.day_rows(report["day"], DAY_PROJECT)
    if "overhead" in report:
        rows += edge_overhead.overhead_rows(report["overhead"])
    load = report.get("load_average")
    if load:
        rows.append(
            row(
                "egress: load average at start / end (2 cores; others' tests ran too)",
                None,
                "",
                note=f"{load['start'][0]:.1f} / {load['end'][0]:.1f}",
            )
        )
    return rows or [row("egress", None, "", note="did not run")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}")
    parser.add_argument("--page-rounds", type=int, default=15, help="JupyterLab loads per side (default 15)")
    parser.add_argument("--kernel-mb", type=float, default=32, help="kernel output per run, MB (default 32)")
    parser.add_argument("--kernel-rounds", type=int, default=4, help="kernel output runs per side (default 4)")
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=900,
        help="seconds one notebook may take to run all its cells (default 900)",
    )
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    if not parts or set(parts) - set(PARTS):
        parser.error(f"--parts takes a comma-separated subset of {', '.join(PARTS)}")
    signal.signal(signal.SIGTERM, _terminate)
    needs_hub = bool({"day", "overhead"} & set(parts))
    for kind in (["workspace"] if needs_hub else []) + (["genomics"] if "day" in parts else []):
        if available_image(kind) is None:
            return 2

    report: dict = {
        "benchmark": "egress",
        "parts": parts,
        "errors": {},
        "images": {kind: image_tag(kind) for kind in ("workspace", "genomics")},
        "load_average": {"start": os.getloadavg()},
    }
    root = Path(tempfile.mkdtemp(prefix="encbench-egress-"))
    enclave = None
    try:
        enclave = enclave_hub.build(root / "enclave")
        report["instance"] = enclave.settings.instance
        print(f"instance {enclave.settings.instance}, state in {root}", flush=True)
        if {"days", "day"} & set(parts):  # the overhead part needs no data
            started = time.perf_counter()
            enclave.passwords.update(seed_demo(enclave.ctx, say=lambda *_: None))  # `enclave demo seed`, defaults
            report["demo_seed_s"] = time.perf_counter() - started

        def phase(name: str, action) -> None:
            """Run one part; what it measured before failing is kept (action fills report[name])."""
            print(f"--- {name}", flush=True)
            began = time.monotonic()
            report[name] = {}
            try:
                action(report[name])
            except Exception as e:  # noqa: BLE001 - a failed part is reported; the others still run
                report["errors"][name] = f"{type(e).__name__}: {e}"
                traceback.print_exc()
            print(f"    {name}: {time.monotonic() - began:.1f} s", flush=True)

        if "days" in parts:
            phase("days", lambda into: days_to_extract(enclave, enclave.passwords, into))
        if needs_hub:
            if "overhead" in parts:
                prepare_overhead(enclave, enclave.passwords)
            if "day" in parts:
                day_budget = prepare_day(enclave, enclave.passwords)
            start_hub(enclave)
            if "overhead" in parts:
                phase(
                    "overhead",
                    lambda into: edge_overhead_measured(
                        enclave, enclave.passwords, args.page_rounds, args.kernel_mb, args.kernel_rounds, into
                    ),
                )
            if "day" in parts:
                screenshot = args.out.with_suffix(".failed.png") if args.out else None
                phase(
                    "day",
                    lambda into: analyst_day_share(
                        enclave, enclave.passwords, args.cell_timeout, day_budget, into, screenshot
                    ),
                )
    except (Exception, SystemExit, KeyboardInterrupt) as e:  # noqa: BLE001 - report what was measured, clean up
        report["errors"]["run"] = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    finally:
        if enclave is not None:
            enclave_hub.tear_down(enclave, args.out if report["errors"] else None)
        shutil.rmtree(root, ignore_errors=True)

    report["load_average"]["end"] = os.getloadavg()
    report["rows"] = egress_rows(report)
    return publish(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
