"""A normal analyst day in real Chromium, through the edge, and the share of the daily budget it uses.

The day, scripted as a person clicks it (Playwright, /usr/bin/chromium):

1. log in with the hub's form, start the project's workspace from the hub's home page;
2. open docs/examples/phenotype_polars.ipynb and gwas_hail.ipynb (copied, unchanged, into the home
   folder as an analyst uploads them), run them cell by cell (Shift+Enter), save, close;
3. open an exploration notebook of 20 plot cells (histograms and scatter plots of the project's
   cohort, drawn inline by matplotlib), run it the same way, save, close;
4. reopen each of the three notebooks five times (double-click in the file browser, wait until every
   output is shown again, close the tab);
5. browse the airlock: its home page, the list of requests and the page of the release request of
   the day's four outputs (made through the airlock's API, as test_examples does).

Then the meter's ledger is read: what was counted (and the raw bytes) for that person, on the
project and on the hub's and the airlock's pseudo-projects, against the budgets that apply to them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "docs" / "examples"
NOTEBOOKS = ("phenotype_polars.ipynb", "gwas_hail.ipynb")
EXPLORATION = "exploration.ipynb"
OUTPUTS = ("bmi_by_age_sex.csv", "bmi_by_age_sex.png", "gwas_hits.csv", "gwas_manhattan.png")
PLOTS = 20
REOPENS = 5
WORKSPACE_UID = 1000  # the analyst in the workspace (enclave/spawner/hardening.py)
AIRLOCK = "/services/egress-review"

_SETUP = """\
%matplotlib inline
from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl

DATA = Path("/data/cohort/v1")
people = pl.read_parquet(DATA / "participants.parquet").join(
    pl.read_parquet(DATA / "baseline.parquet"), on="participant_id")
people.height"""

_HISTOGRAM = """\
fig, ax = plt.subplots(figsize=(6, 4))
for (sex,), part in people.sort("sex").group_by("sex", maintain_order=True):
    ax.hist(part["{m}"].drop_nulls().to_numpy(), bins={bins}, alpha=0.5, label=sex)
ax.set_xlabel("{m}")
ax.legend()
plt.show()"""

_SCATTER = """\
sample = people.drop_nulls(["{m}", "bmi"]).sample(3_000, seed={seed})
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(sample["{m}"].to_numpy(), sample["bmi"].to_numpy(), s=3, alpha=0.4)
ax.set_xlabel("{m}")
ax.set_ylabel("bmi")
plt.show()"""

MEASURES = (
    "height_cm",
    "weight_kg",
    "bmi",
    "systolic_bp",
    "diastolic_bp",
    "ldl_cholesterol",
    "hba1c",
    "townsend_deprivation_index",
    "age_at_recruitment",
    "year_of_birth",
)


def _cell(source: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": source.splitlines(keepends=True),
    }


def exploration_notebook() -> dict:
    """One set-up cell and PLOTS plot cells: ten histograms by sex, then ten scatter plots against BMI."""
    cells = [_cell(_SETUP)]
    for i in range(PLOTS):
        m = MEASURES[i % len(MEASURES)]
        cells.append(_cell(_HISTOGRAM.format(m=m, bins=30 + i) if i < len(MEASURES) else _SCATTER.format(m=m, seed=i)))
    return {
        "cells": cells,
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}},
    }


def place_notebooks(home: Path) -> list[str]:
    """The two examples and the exploration notebook in the analyst's home, owned by the analyst."""
    home.mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        (home / name).write_bytes((EXAMPLES / name).read_bytes())
    (home / EXPLORATION).write_text(json.dumps(exploration_notebook(), indent=1))
    for name in (*NOTEBOOKS, EXPLORATION):
        os.chown(home / name, WORKSPACE_UID, WORKSPACE_UID)
    return [*NOTEBOOKS, EXPLORATION]


# --- JupyterLab, as a person uses it -------------------------------------------------------------


def watch_refusals(page, into: list[str]) -> None:
    """Note every answer >= 400 and every websocket closed on the page (a spent budget shows as both)."""
    page.on("response", lambda r: into.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: into.append(f"failed ({r.failure}) {r.method} {r.url}"))
    page.on("websocket", lambda ws: ws.on("close", lambda _: into.append(f"websocket closed {ws.url}")))


_CURRENT = ".jp-NotebookPanel:not(.lm-mod-hidden)"
_OUTPUTS = f"""() => document.querySelectorAll("{_CURRENT} .jp-OutputArea-output").length"""


def _menu(page, menu: str, command: str) -> None:
    page.click(f".lm-MenuBar-item:has(.lm-MenuBar-itemLabel:text-is('{menu}'))")
    page.click(f".lm-Menu-item[data-command='{command}']")


def open_from_file_browser(page, name: str) -> None:
    page.dblclick(f".jp-DirListing-item[title^='Name: {name}']")
    page.wait_for_selector(f"{_CURRENT} .jp-CodeCell", timeout=120_000)


_CELL_STATE = f"""i => {{ const cell = document.querySelectorAll("{_CURRENT} .jp-Cell")[i];
    const prompt = cell.querySelector(".jp-InputArea-prompt");
    const out = [...cell.querySelectorAll(".jp-OutputArea-output")].map(o => o.innerText).join("\\n");
    return {{code: cell.classList.contains("jp-CodeCell"), prompt: prompt ? prompt.textContent.trim() : "",
             traceback: out.includes("Traceback (most recent call last)") ? out.slice(-2000) : ""}}; }}"""


def run_cells(page, name: str, timeout_s: float) -> None:
    """Run every cell in turn with Shift+Enter, as a person steps through a notebook; each must finish cleanly."""
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=180_000)  # the kernel is ready
    cells = page.locator(f"{_CURRENT} .jp-Cell")
    cells.first.click()
    page.keyboard.press("Escape")  # command mode, the first cell selected
    deadline = time.monotonic() + timeout_s
    for i in range(cells.count()):
        page.keyboard.press("Shift+Enter")
        while True:
            state = page.evaluate(_CELL_STATE, i)
            if not state["code"] or state["prompt"][1:-2].strip().isdigit():  # "[12]:"
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: cell {i} not finished within {timeout_s:.0f} s ({state['prompt']})")
            time.sleep(0.2)
        if state["traceback"]:
            raise RuntimeError(f"{name}: cell {i} failed:\n{state['traceback']}")


def save_and_close(page) -> None:
    _menu(page, "File", "docmanager:save")
    page.wait_for_selector(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current:not(.jp-mod-dirty)", timeout=60_000)
    _menu(page, "File", "application:close")


def reopen(page, name: str, outputs: int) -> None:
    """Open the saved notebook again and wait until all its outputs are shown; close it."""
    open_from_file_browser(page, name)
    deadline = time.monotonic() + 120
    while page.evaluate(_OUTPUTS) < outputs:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: {page.evaluate(_OUTPUTS)} of {outputs} outputs shown after reopening")
        time.sleep(0.2)
    _menu(page, "File", "application:close")


def work_in_lab(page, notebooks: list[str], cell_timeout_s: float) -> dict:
    """Run, save and close each notebook; reopen each REOPENS times. The outputs each notebook shows."""
    shown = {}
    for name in notebooks:
        started = time.monotonic()
        open_from_file_browser(page, name)
        run_cells(page, name, cell_timeout_s)
        shown[name] = page.evaluate(_OUTPUTS)
        save_and_close(page)
        print(f"    ran {name} in {time.monotonic() - started:.0f} s: {shown[name]} outputs", flush=True)
    for _ in range(REOPENS):
        for name in notebooks:
            reopen(page, name, shown[name])
    return shown


def browse_airlock(page, base_url: str, request_id: str | int) -> list[str]:
    """The airlock's home page, the list of requests, and the day's request; the pages visited."""
    visited = []
    for path in ("/", "/requests", f"/requests/{request_id}"):
        response = page.goto(f"{base_url}{AIRLOCK}{path}")
        if response is None or response.status != 200:
            raise RuntimeError(f"the airlock's {path} answered {response.status if response else 'nothing'}")
        visited.append(path)
    return visited


# --- the ledger ----------------------------------------------------------------------------------


def plots_information(notebook: Path) -> dict:
    """The saved exploration notebook's images as the meter measures them (one fresh stream): their share."""
    from enclave.metering.information import ReceivedToday, StreamMeasure

    images = [
        output["data"]["image/png"].encode()
        for cell in json.loads(notebook.read_text())["cells"]
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    measure, received = StreamMeasure(), ReceivedToday()
    counted = sum(measure.measure(image, received).counted for image in images)
    return {"images": len(images), "base64_bytes": sum(map(len, images)), "counted": counted}


def usage_of(ctx, user: str, days) -> list[dict]:
    """The person's ledger lines (every project and pseudo-project) on the given UTC days."""
    from enclave.metering.report import usage_report

    lines = []
    with ctx.db.reading() as session:
        for day in days:
            lines += [line.as_dict() for line in usage_report(session, ctx.settings, day, user=user)]
    return lines


def settled_usage(ctx, user: str, days, quiet_s: float = 3.0, timeout_s: float = 60) -> list[dict]:
    """The usage once the edge's meter has flushed everything (about once a second): stable for quiet_s."""
    deadline = time.monotonic() + timeout_s
    last, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = usage_of(ctx, user, days)
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= quiet_s:
            return now
        time.sleep(0.5)
    return last or []


def day_rows(result: dict, project: str) -> list[dict]:
    from enclave.metering.report import readable

    from .table import row

    lines = {line["project"]: line for line in result["usage"]}
    main = lines.get(project)
    if main is None:
        return [
            row(
                "day: nothing was metered for the analyst's project",
                None,
                "",
                note="the edge counted none of the day's traffic: a metering gap, or the ledger was not read",
            )
        ]
    counted, raw, budget = main["total"], main["raw"], result["default_budget"]["per_person"]
    finished = "airlock_pages" in result  # a day cut short is no evidence that a whole day fits
    note = (
        f"{readable(counted)} counted ({readable(raw)} raw) of the project's default {readable(budget)} per "
        f"person; channels {', '.join(f'{c} {readable(n)}' for c, n in main['channels'].items() if n)}"
    )
    # Answers >= 400 from the enclave (aborted loads and closed websockets are a page's normal life).
    refused = [r for r in result.get("refused", []) if r[:1].isdigit() and result["base"] in r]
    if refused:
        note += f"; {len(refused)} requests refused, first: {refused[0][:160]}"
    if not finished:
        note = "THE DAY DID NOT FINISH (see errors): " + note
    rows = [
        row(
            f"day: 2 example notebooks, {PLOTS} plots, save, {REOPENS} reopens each, airlock: "
            "share of the default daily budget",
            100 * counted / budget,
            "%",
            "<= 25" if finished else "",
            note=note,
        )
    ]
    plots = result.get("plots")
    if plots:
        rows.append(
            row(
                f"day: of which the {plots['images']} plots' images (as the meter measures them)",
                100 * plots["counted"] / budget,
                "%",
                note=f"{readable(plots['counted'])} of {readable(plots['base64_bytes'])} base64 PNG",
            )
        )
    for name, line in sorted(lines.items()):
        if name != project:
            rows.append(
                row(
                    f"day: share of the person's {name} budget (same day)",
                    100 * line["total"] / line["budget"],
                    "%",
                    note=f"{readable(line['total'])} counted of {readable(line['budget'])}",
                )
            )
    return rows
