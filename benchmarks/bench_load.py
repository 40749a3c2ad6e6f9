"""Benchmark: load (issue 11 item 7): 1, 5, 10 and 20 analysts at once on one machine, and where it breaks.

    python -m benchmarks.bench_load [--out bench-results/load.json] [--levels 1,5,10,20] [--duration 60]

One real enclave of its own (`encbench-<hex>`: the real hub, edge, airlock and workspaces), with
analysts in projects of five and two reviewers, made with the operator operations. Real Chromium
logs in once and loads JupyterLab; the requests it makes are recorded. Then, for each level, that
many analysts work at once for --duration seconds, each through the edge as its browser would
(benchmarks/load_clients.py: log in, start the workspace, a notebook's kernel streaming a log line
every 0.1 s, JupyterLab page loads replaying Chromium's requests, notebook reopens, cells, saves, the
hub's home page, one release request submitted to the airlock), while the reviewers vote on every
request. Workspaces started at one level stay up for the next, as a working day's do.

Reported per level: p50/p95 of page loads (JupyterLab, a notebook reopened, the hub's home page), of
API calls, of a small cell's round trip while the kernel streams, of airlock submissions and votes,
and of workspace starts; errors (target 0); whether the edge's ledger grew by exactly the bytes the
clients received (benchmarks/load_checks.py); whether every submission and vote is recorded exactly
once. A level "breaks" at the first with an error, a JupyterLab page load p95 over --page-p95 s or
an API call p95 over --api-p95 s. A wrong answer (bytes the meter did not count, a lost or doubled
submission or vote) makes the benchmark exit 1; slowness and errors are findings, printed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import signal
import ssl
import sys
import tempfile
import time
import traceback
from pathlib import Path

from enclave.airlock.service import airlock_data_dir
from enclave.images.catalog import image_tag
from enclave.operations import people, projects
from harness.enclave import EnclaveUnderTest, build_enclave, make_settings, start_hub
from harness.hub import HubUser

from . import load_checks, process_cpu
from .chromium import chromium_page, log_in
from .edge_overhead import record_lab_requests
from .enclave_hub import tear_down
from .images import available_image
from .load_clients import Analyst, CallFailed, Reviewer, Tally
from .table import publish, render, row

PER_PROJECT = 5  # analysts per project: a team sharing a project network
REVIEWERS = ("rev1", "rev2")  # two approvals per request, the projects' default
CHROMIUM = "Chromium: JupyterLab to its launcher"
WATCHER = "watch"  # an analyst in real Chromium: records JupyterLab's requests, loads it once per level
BUDGET = 1 << 40  # bytes a day per person and project: the benchmark measures the meter, it must not cut
API_CALLS = ("workspace API", "hub API", "airlock API", "airlock submit", "airlock vote", "log in", "notebook session")


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # runs the finally blocks: hub stopped, containers removed


def analyst_name(i: int) -> str:
    return f"ana{i:02d}"


def project_of(i: int) -> str:
    return f"load{(i - 1) // PER_PROJECT + 1}"


def set_up_installation(root: Path, analysts: int) -> EnclaveUnderTest:
    """Accounts and projects with the operator operations; budgets the benchmark cannot reach."""
    enclave = build_enclave(root, make_settings(root, prefix="encbench", limits={}))
    ctx = enclave.ctx
    for p in sorted({project_of(i) for i in range(1, analysts + 1)}):
        projects.create_project(ctx, p)
        projects.set_egress_budget(ctx, p, BUDGET, project_daily_bytes=BUDGET)
    for i in range(1, analysts + 1):
        name = analyst_name(i)
        enclave.passwords[name] = people.add_user(ctx, name, ["analyst"]).initial_password
        people.add_member(ctx, project_of(i), name)
    enclave.passwords[WATCHER] = people.add_user(ctx, WATCHER, ["analyst"]).initial_password
    people.add_member(ctx, project_of(1), WATCHER)
    for name in REVIEWERS:
        enclave.passwords[name] = people.add_user(ctx, name, ["reviewer"]).initial_password
    return enclave


def recorded_lab(enclave: EnclaveUnderTest) -> tuple[list[str], str]:
    """The requests real Chromium makes to load JupyterLab, as the watcher (whose workspace it starts)."""
    name, project = WATCHER, project_of(1)
    person = HubUser(enclave.url, name, enclave.passwords[name])
    reply = person.start(project, timeout=300)
    if reply.status_code not in (201, 202, 400):
        raise RuntimeError(f"{name}'s workspace did not start: {reply.status_code} {reply.text[:300]}")
    with chromium_page() as page:
        log_in(page, enclave.url, name, enclave.passwords[name])
        paths = record_lab_requests(page, person.server_url(project))
    return paths, f"/user/{name}/{project}/"


def chromium_lab_load(enclave: EnclaveUnderTest) -> float:
    """Real Chromium, logged in as the watcher: seconds from asking for JupyterLab to its launcher shown."""
    with chromium_page() as page:
        log_in(page, enclave.url, WATCHER, enclave.passwords[WATCHER])
        started = time.perf_counter()
        page.goto(f"{enclave.url}/user/{WATCHER}/{project_of(1)}/lab")
        page.wait_for_selector(".jp-Launcher", timeout=300_000)
        return time.perf_counter() - started


async def chromium_check(enclave, tally: Tally, after_s: float) -> None:
    """Midway through the level, one real JupyterLab load in Chromium (the watcher's traffic is not compared)."""
    await asyncio.sleep(after_s)
    try:
        tally.time("Chromium: JupyterLab to its launcher", await asyncio.to_thread(chromium_lab_load, enclave))
    except Exception as e:  # noqa: BLE001 - Playwright's errors: the check failed, the level goes on
        tally.error(WATCHER, f"Chromium: JupyterLab did not show its launcher: {type(e).__name__}: {e}")


def own_paths(paths: list[str], recorded_prefix: str, name: str, project: str) -> list[str]:
    return [p.replace(recorded_prefix, f"/user/{name}/{project}/", 1) for p in paths]


# --- one level ---------------------------------------------------------------------------------------


async def run_level(enclave, analysts: int, lab: tuple[list[str], str], args, label: str) -> tuple[Tally, float]:
    """`analysts` people working at once for args.duration seconds; the reviewers voting throughout."""
    tally = Tally()
    context = ssl.create_default_context(cafile=enclave.ca_file)
    paths, prefix = lab
    crowd = [
        Analyst(
            enclave.url,
            context,
            analyst_name(i),
            enclave.passwords[analyst_name(i)],
            tally,
            project=project_of(i),
            lab_paths=own_paths(paths, prefix, analyst_name(i), project_of(i)),
            seed=i,
        )
        for i in range(1, analysts + 1)
    ]
    reviewers = [Reviewer(enclave.url, context, n, enclave.passwords[n], tally) for n in REVIEWERS]

    async def ready(person, step) -> bool:
        try:
            await step()
            return True
        except CallFailed:
            return False
        except Exception as e:  # noqa: BLE001 - an answer not as expected: an error of this person, not a crash
            tally.error(person.name, f"set-up: {type(e).__name__}: {e}")
            return False

    set_up = await asyncio.gather(
        *(ready(a, lambda a=a: a.set_up(args.line_chars)) for a in crowd), *(ready(r, r.log_in) for r in reviewers)
    )
    tally.phase = "steady"
    stop = asyncio.Event()
    reviewing = [asyncio.create_task(r.review(stop)) for r in reviewers]
    cpu_before, machine_before = process_cpu.cpu_seconds(enclave.settings), process_cpu.machine_jiffies()
    requests_before = tally.requests
    started = time.monotonic()
    until = started + args.duration
    chromium = asyncio.create_task(chromium_check(enclave, tally, args.duration / 2))
    await asyncio.gather(
        *(a.work(until, args.think, f"{label}-{a.name}") for a, ok in zip(crowd, set_up, strict=False) if ok)
    )
    steady_s = time.monotonic() - started
    machine_after = process_cpu.machine_jiffies()
    tally.cpu = {
        "cores": process_cpu.cores_used(cpu_before, process_cpu.cpu_seconds(enclave.settings), steady_s),
        "machine_busy": (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1]),
        "requests_per_s": (tally.requests - requests_before) / steady_s,
    }
    await chromium
    tally.phase = "teardown"
    await asyncio.gather(*(a.finish() for a in crowd))
    deadline = time.monotonic() + args.vote_timeout
    while time.monotonic() < deadline and not all_voted(tally):
        await asyncio.sleep(1)
    if not all_voted(tally):
        tally.error("reviewers", f"not every submission had {len(REVIEWERS)} votes within {args.vote_timeout:.0f} s")
    stop.set()
    await asyncio.gather(*reviewing)
    for r in reviewers:
        await r.close()
    return tally, steady_s


def all_voted(tally: Tally) -> bool:
    return all(sum(1 for rid, _ in tally.votes if rid == wanted) >= len(REVIEWERS) for wanted in tally.submissions)


def percentiles(values: list[float]) -> dict | None:
    """Nearest-rank p50 and p95."""
    if not values:
        return None
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {"n": len(ordered), "p50_s": rank(0.50), "p95_s": rank(0.95), "max_s": ordered[-1]}


def summarise(tally: Tally, steady_s: float) -> dict:
    steady = {k.split(":", 1)[1]: v for k, v in tally.samples.items() if k.startswith("steady:")}
    latency = {what: percentiles(values) for what, values in sorted(steady.items())}
    latency["API call"] = percentiles([v for what in API_CALLS for v in steady.get(what, [])])
    setup = {k.split(":", 1)[1]: percentiles(v) for k, v in tally.samples.items() if k.startswith("setup:")}
    kernel_bytes = sum(kinds.get("kernel", 0) for kinds in tally.received.values())
    return {
        "steady_s": steady_s,
        "latency": latency,
        "setup": setup,
        "errors": len(tally.errors),
        "error_samples": tally.errors[:30],
        "kernel": {
            "bytes": kernel_bytes,
            "messages": tally.kernel_messages,
            "mb_per_s": kernel_bytes / 1e6 / steady_s if steady_s else None,
        },
        "unmetered_bytes": sum(tally.unmetered.values()),
        "requests": tally.requests,
        "work_phase": tally.cpu,  # requests a second through the edge, cores each process used, the machine
    }


def measure_level(enclave, analysts: int, lab, args, before: dict) -> tuple[dict, dict]:
    """Run one level, then read the ledger and the airlock's records; (the level's result, the ledger after)."""
    label = f"l{analysts}"
    load_start = os.getloadavg()
    tally, steady_s = asyncio.run(run_level(enclave, analysts, lab, args, label))
    result = {"analysts": analysts, "load_average": {"start": load_start, "end": os.getloadavg()}}
    result.update(summarise(tally, steady_s))
    everyone = set(before)
    after = load_checks.settled_ledger(enclave.ctx, everyone)
    result["meter"] = load_checks.compare_meter(before, after, tally.received, bool(tally.errors))
    db_path = airlock_data_dir(enclave.settings) / "egress-review.sqlite"
    records = load_checks.airlock_records(db_path, set(tally.submissions))
    forwarded = load_checks.forwarded_counts(enclave.ctx, records["audit_ids"])
    result["airlock"] = load_checks.exactly_once(records, forwarded, tally.submissions, tally.votes)
    return result, after


# --- the table ---------------------------------------------------------------------------------------


def breaks(level: dict, args) -> list[str]:
    """Why this level is past what the machine carries (empty if it carries it)."""
    why = []
    if level["errors"]:
        why.append(f"{level['errors']} errors")
    page = level["latency"].get("JupyterLab page load")
    if page and page["p95_s"] > args.page_p95:
        why.append(f"JupyterLab page load p95 {page['p95_s']:.2f} s > {args.page_p95:g} s")
    api = level["latency"].get("API call")
    if api and api["p95_s"] > args.api_p95:
        why.append(f"API call p95 {api['p95_s']:.2f} s > {args.api_p95:g} s")
    return why


def _p(level: dict, what: str, key: str = "p95_s", setup: bool = False) -> float | None:
    found = (level["setup"] if setup else level["latency"]).get(what)
    return found[key] if found else None


def _note(level: dict, what: str, setup: bool = False) -> str:
    found = (level["setup"] if setup else level["latency"]).get(what)
    return f"p50 {found['p50_s']:.3f} s, max {found['max_s']:.2f} s, n={found['n']}" if found else "none"


def level_rows(level: dict, args) -> list[dict]:
    n = level["analysts"]
    head = f"load {n:>2} analyst{'s' if n > 1 else ''}:"
    meter, airlock, kernel = level["meter"], level["airlock"], level["kernel"]
    return [
        row(
            f"{head} JupyterLab page load p95",
            _p(level, "JupyterLab page load"),
            "s",
            f"<= {args.page_p95:g}",
            note=_note(level, "JupyterLab page load"),
        ),
        row(f"{head} notebook reopened p95", _p(level, "notebook open"), "s", note=_note(level, "notebook open")),
        row(f"{head} hub home page p95", _p(level, "hub home page"), "s", note=_note(level, "hub home page")),
        row(
            f"{head} real Chromium: JupyterLab to its launcher",
            _p(level, CHROMIUM, "max_s"),
            "s",
            note="once, midway, in a fresh browser (no cache)",
        ),
        row(f"{head} API call p95", _p(level, "API call"), "s", f"<= {args.api_p95:g}", note=_note(level, "API call")),
        row(
            f"{head} small cell round trip p95 (kernel streaming)",
            _p(level, "kernel execute"),
            "s",
            note=_note(level, "kernel execute"),
        ),
        row(f"{head} airlock submission p95", _p(level, "airlock submit"), "s", note=_note(level, "airlock submit")),
        row(f"{head} airlock vote p95", _p(level, "airlock vote"), "s", note=_note(level, "airlock vote")),
        row(
            f"{head} workspace start p95 (new ones)",
            _p(level, "workspace start", setup=True),
            "s",
            note=_note(level, "workspace start", setup=True),
        ),
        row(f"{head} errors", level["errors"], "", "<= 0", note="; ".join(level["error_samples"][:3])),
        row(
            f"{head} meter's ledger = bytes the clients received",
            "yes" if meter["equal"] else "NO",
            "",
            note=f"{meter['metered_bytes'] / 1e6:.2f} MB metered, {meter['received_bytes'] / 1e6:.2f} MB received "
            f"(kernel output {kernel['mb_per_s'] or 0:.3f} MB/s, {kernel['messages']} messages)"
            + (f"; {meter['undercounted'][:2] or meter['differs'][:2]}" if not meter["equal"] else ""),
        ),
        row(
            f"{head} submissions and votes recorded exactly once",
            "yes" if airlock["right"] else "NO",
            "",
            note=f"{airlock['submissions']} submissions, {airlock['votes']} votes"
            + (f"; lost {airlock['lost'][:2]}, doubled {airlock['doubled'][:2]}" if not airlock["right"] else ""),
        ),
    ]


def growth_table(levels: list[dict]) -> str:
    """One column per level: how each figure grows with the number of analysts."""
    lines = [
        ("JupyterLab page load p50 / p95 (s)", "JupyterLab page load"),
        ("real Chromium: JupyterLab to launcher (s)", CHROMIUM),
        ("notebook reopened p50 / p95 (s)", "notebook open"),
        ("hub home page p50 / p95 (s)", "hub home page"),
        ("API call p50 / p95 (s)", "API call"),
        ("small cell round trip p50 / p95 (s)", "kernel execute"),
        ("airlock submission p50 / p95 (s)", "airlock submit"),
        ("airlock vote p50 / p95 (s)", "airlock vote"),
    ]
    rows = [["analysts", *(str(level["analysts"]) for level in levels)]]
    for title, what in lines:
        cells = []
        for level in levels:
            found = level["latency"].get(what)
            cells.append(f"{found['p50_s']:.2f} / {found['p95_s']:.2f}" if found else "-")
        rows.append([title, *cells])
    rows.append(["workspace start p95 (s)", *(f"{_p(lv, 'workspace start', setup=True) or 0:.1f}" for lv in levels)])
    rows.append(["errors", *(str(level["errors"]) for level in levels)])
    rows.append(
        ["HTTP requests through the edge per s", *(f"{lv['work_phase']['requests_per_s']:.1f}" for lv in levels)]
    )
    for name, title in (("edge", "edge CPU (cores)"), ("hub", "hub + proxy + airlock CPU (cores)")):
        rows.append([title, *(f"{lv['work_phase']['cores'].get(name, 0):.2f}" for lv in levels)])
    busy = [f"{100 * lv['work_phase']['machine_busy']:.0f}" for lv in levels]
    rows.append([f"machine CPU busy, all {os.cpu_count()} cores (%)", *busy])
    rows.append(["kernel output received (MB/s)", *(f"{level['kernel']['mb_per_s'] or 0:.3f}" for level in levels)])
    rows.append(["meter = received", *("yes" if level["meter"]["equal"] else "NO" for level in levels)])
    rows.append(["recorded exactly once", *("yes" if level["airlock"]["right"] else "NO" for level in levels)])
    rows.append(["load average (1 min) at end", *(f"{level['load_average']['end'][0]:.1f}" for level in levels)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]) for r in rows
    )


def load_rows(report: dict, args) -> list[dict]:
    rows = [r for level in report["levels"] for r in level_rows(level, args)]
    if report["levels"]:
        broken = report.get("breaks_at")
        rows.append(
            row(
                "load: first level past the machine (errors, page p95 or API p95 over target)",
                broken["analysts"] if broken else "none",
                "analysts" if broken else "",
                note="; ".join(broken["why"])
                if broken
                else f"every level carried ({report['levels'][-1]['analysts']})",
            )
        )
    return rows or [row("load", None, "", note="did not run")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--levels", default="1,5,10,20", help="analysts at once, in turn (default 1,5,10,20)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of work per level (default 60)")
    parser.add_argument(
        "--think",
        type=lambda s: tuple(float(x) for x in s.split(",")),
        default=(2.0, 4.0),
        help="an analyst's pause between actions, min,max seconds (default 2,4)",
    )
    parser.add_argument(
        "--line-chars", type=int, default=1000, help="characters of each streamed log line, 10 a second (1000)"
    )
    parser.add_argument("--page-p95", type=float, default=5.0, help="JupyterLab page load p95 a level may reach (5 s)")
    parser.add_argument("--api-p95", type=float, default=2.0, help="API call p95 a level may reach (2 s)")
    parser.add_argument("--vote-timeout", type=float, default=180, help="seconds the reviewers get to finish")
    args = parser.parse_args(argv)
    levels = sorted({int(n) for n in args.levels.split(",") if n})
    if not levels or levels[0] < 1:
        parser.error("--levels takes whole numbers of analysts, at least 1, e.g. 1,5,10,20")
    signal.signal(signal.SIGTERM, _terminate)
    # A demo's login (password only), state on a plain temporary folder, and budgets no level reaches on
    # the hub's and airlock's pages; the installation's processes inherit all three.
    os.environ["ENCLAVE_REQUIRE_SECOND_FACTOR"] = "false"
    os.environ["ENCLAVE_ALLOW_UNENCRYPTED_STATE"] = "true"
    os.environ["ENCLAVE_METERING_BUDGET_FLOOR"] = str(64 * 1024 * 1024)
    if available_image("workspace") is None:
        return 2

    report: dict = {
        "benchmark": "load",
        "levels_asked": levels,
        "settings": {
            "duration_s": args.duration,
            "think_s": list(args.think),
            "line_chars": args.line_chars,
            "page_p95_s": args.page_p95,
            "api_p95_s": args.api_p95,
            "per_project": PER_PROJECT,
            "reviewers": len(REVIEWERS),
            "cpus": os.cpu_count(),
        },
        "image": image_tag("workspace"),
        "levels": [],
        "errors": {},
    }
    root = Path(tempfile.mkdtemp(prefix="encbench-load-"))
    enclave = None
    try:
        enclave = set_up_installation(root / "enclave", max(levels))
        report["instance"] = enclave.settings.instance
        print(f"instance {enclave.settings.instance}, state in {root}", flush=True)
        start_hub(enclave)
        started = time.monotonic()
        lab = recorded_lab(enclave)
        report["lab_requests"] = len(lab[0])
        report["lab_paths"] = lab[0]  # as the watcher's; each analyst replays them under its own server
        print(f"Chromium loaded JupyterLab: {len(lab[0])} requests ({time.monotonic() - started:.1f} s)", flush=True)
        everyone = {analyst_name(i) for i in range(1, max(levels) + 1)} | set(REVIEWERS)
        ledger = load_checks.settled_ledger(enclave.ctx, everyone)
        for analysts in levels:
            print(f"--- {analysts} analyst(s) for {args.duration:.0f} s", flush=True)
            began = time.monotonic()
            level, ledger = measure_level(enclave, analysts, lab, args, ledger)
            level["wall_s"] = time.monotonic() - began
            report["levels"].append(level)
            print(render(level_rows(level, args)), flush=True)
            if not level["meter"]["right"]:
                report["errors"][f"meter at {analysts}"] = level["meter"]["undercounted"] or level["meter"]["differs"]
            if not level["airlock"]["right"]:
                report["errors"][f"airlock at {analysts}"] = level["airlock"]["lost"] + level["airlock"]["doubled"]
    except (Exception, SystemExit, KeyboardInterrupt) as e:  # noqa: BLE001 - report what was measured, clean up
        report["errors"]["run"] = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    finally:
        if enclave is not None:
            # The logs are kept beside the JSON when anything went wrong, a level's errors included.
            troubled = report["errors"] or any(level["errors"] for level in report["levels"])
            tear_down(enclave, args.out if troubled else None)
        shutil.rmtree(root, ignore_errors=True)

    for level in report["levels"]:
        why = breaks(level, args)
        if why:
            report["breaks_at"] = {"analysts": level["analysts"], "why": why}
            break
    report["rows"] = load_rows(report, args)
    if report["levels"]:
        report["growth"] = growth_table(report["levels"])
        print("\n" + report["growth"] + "\n")
    return publish(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
