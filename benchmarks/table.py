"""Result rows (name, value, unit, target, met?) and their printed table.

A target is informational: a miss is printed, never raised.
"""

from __future__ import annotations

import json
import operator
from pathlib import Path

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def row(name: str, value: float | None, unit: str, target: str = "", note: str = "") -> dict:
    """target is '' or '<op> <number>', e.g. '< 3' or '>= 0.95'."""
    met = None
    if target and value is not None:
        op, threshold = target.split()
        met = _OPS[op](value, float(threshold))
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met, "note": note}


def _value(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def render(rows: list[dict]) -> str:
    header = ("benchmark", "value", "unit", "target", "met?")
    cells = [
        (
            r["name"],
            _value(r["value"]),
            r["unit"],
            r["target"] or "-",
            {True: "pass", False: "MISS", None: "-"}[r["met"]],
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    lines = []
    for i, line in enumerate([header, *cells]):
        name, value, *rest = line
        lines.append(
            "  ".join(
                [
                    name.ljust(widths[0]),
                    value.rjust(widths[1]),
                    *(c.ljust(w) for c, w in zip(rest, widths[2:], strict=True)),
                ]
            ).rstrip()
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  [{r['name']}] {r['note']}" for r in rows if r.get("note")]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))


def publish(report: dict, out: Path | None, also: tuple[str, ...] = ()) -> int:
    """Print a benchmark's table and its errors (and any `also` keys), write the JSON report; the exit code."""
    print(render(report["rows"]))
    for key in ("errors", *also):
        if report.get(key):
            print(f"\n{key}:", json.dumps(report[key]))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"written to {out}")
    return 1 if report["errors"] else 0
