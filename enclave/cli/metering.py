"""`enclave egress-usage`, `enclave user suspend|resume` and `enclave project budget`."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime

from ..egress.budgets import MIB
from ..errors import InvalidInput
from ..metering.meter import CHANNELS
from ..metering.report import project_report, readable, usage_report
from ..operations import people, projects
from .context import operator_context

_COLUMNS = ("kernel", "terminal", "contents", "app", "other-api", "page", "websocket", "hub", "airlock")
assert set(_COLUMNS) == CHANNELS


def _day(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--day {text!r} is not a date: write it as YYYY-MM-DD (a UTC day).") from None


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def _days(days: float | None) -> str:
    return "-" if days is None else f"{days:.1f}"


def _usage(args):
    ctx = operator_context()
    day = _day(args.day)
    with ctx.db.reading() as session:
        projects_today = project_report(session, ctx.settings, day, project=args.project)
        lines = usage_report(session, ctx.settings, day, user=args.user, project=args.project)
    if args.json:
        print(
            json.dumps(
                {
                    "day": day.isoformat(),
                    "projects": [p.as_dict() for p in projects_today],
                    "people": [line.as_dict() for line in lines],
                },
                indent=2,
            )
        )
        return
    print(f"Budgets and egress to browsers on {day.isoformat()} (UTC), per project, all members together:")
    _table(
        [
            "PROJECT",
            "EXTRACTS",
            "DAYS-TARGET",
            "PER-PERSON",
            "DAYS(PERSON)",
            "PROJECT-CAP",
            "DAYS(PROJECT)",
            "COUNTED",
            "RAW",
            "USED",
            "SET-BY-PROJECT",
        ],
        [
            [
                p.project,
                readable(b.extract_bytes),
                f"{b.days_target:g}",
                readable(b.per_person),
                _days(b.days_person),
                "none" if b.project_cap is None else readable(b.project_cap),
                _days(b.days_project),
                readable(p.total),
                readable(p.raw),
                "-" if p.percent is None else f"{p.percent:.1f}%",
                ",".join(b.fixed) or "-",
            ]
            for p, b in ((p, p.budget) for p in projects_today)
        ],
    )
    print()
    if not lines:
        print(f"No data-bearing traffic metered on {day.isoformat()} (UTC).")
        return
    used = [c for c in _COLUMNS if any(line.channels.get(c) for line in lines)]  # channels with traffic
    print("Per person, counted (the information received), largest first:")
    _table(
        ["USER", "PROJECT", *(c.upper() for c in used), "COUNTED", "RAW", "BUDGET", "USED", "ACCOUNT"],
        [
            [
                line.user,
                line.project,
                *(readable(line.channels.get(c, 0)) for c in used),
                readable(line.total),
                readable(line.raw),
                readable(line.budget),
                f"{line.percent:.1f}%",
                line.account,
            ]
            for line in lines
        ],
    )


def _suspend(args):
    stopped = people.suspend_user(operator_context(), args.name, args.reason)
    print(f"Suspended {args.name}: login and new workspaces refused; logged-in sessions end within a minute.")
    if stopped:
        print("Stopped workspaces: " + ", ".join(stopped))


def _resume(args):
    people.resume_user(operator_context(), args.name, args.reason or "")
    print(
        f"Resumed {args.name}. Today's metered usage still counts; to allow more today, raise the "
        "project's budget with 'enclave project budget <project> --daily-mb N'."
    )


def _megabytes(value: float | None, flag: str) -> int | None | object:
    if value is None:
        return projects.UNCHANGED
    if value <= 0:
        raise InvalidInput(f"Give {flag} a positive number of MiB, or --default.")
    return int(value * MIB)


def _budget(args):
    setting = any(v is not None for v in (args.daily_mb, args.project_mb, args.days))
    if args.default and setting:
        raise InvalidInput("Give either --default or the budgets to set (--daily-mb, --project-mb, --days).")
    changing = setting or args.default
    if args.default:
        budget = projects.set_egress_budget(
            operator_context(), args.name, None, project_daily_bytes=None, days_to_extract=None
        )
    elif changing:
        budget = projects.set_egress_budget(
            operator_context(),
            args.name,
            _megabytes(args.daily_mb, "--daily-mb"),
            project_daily_bytes=_megabytes(args.project_mb, "--project-mb"),
            days_to_extract=projects.UNCHANGED if args.days is None else args.days,
        )
    else:
        budget = projects.project_budgets(operator_context(), {args.name})[args.name]
    if args.json:
        print(json.dumps({"project": args.name, **budget.as_dict()}, indent=2))
        return
    fixed = set(budget.fixed)
    mark = {True: "set for the project", False: "derived"}
    print(
        f"Project {args.name}: extracts hold {readable(budget.extract_bytes)} of information; "
        f"days target {budget.days_target:g} ({mark['days' in fixed]})."
    )
    print(
        f"  per person:   {readable(budget.per_person)} a UTC day ({mark['person' in fixed]}): "
        f"{_days(budget.days_person)} days to carry the extracts out"
    )
    print(
        f"  all members:  {readable(budget.project_cap)} a UTC day ({mark['project' in fixed]}): "
        f"{_days(budget.days_project)} days"
    )
    if changing:
        print("Running edges apply it within a second.")


def _subcommands(groups, name: str):
    """The sub-command list of an existing command group (e.g. `user`), so this module can add to it."""
    parser = groups.choices[name]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def register_metering(groups):
    p = groups.add_parser("egress-usage", help="who received how much data from workspaces (per UTC day)")
    p.add_argument("--day", help="UTC day, YYYY-MM-DD (default: today)")
    p.add_argument("--user")
    p.add_argument("--project")
    p.add_argument("--json", action="store_true", help="machine-readable, bytes as numbers")
    p.set_defaults(func=_usage)

    users = _subcommands(groups, "user")
    p = users.add_parser("suspend", help="hold an account: refuse login and spawns, stop its workspaces")
    p.add_argument("name")
    p.add_argument("--reason", default="suspended by an operator")
    p.set_defaults(func=_suspend)
    p = users.add_parser("resume", help="lift a suspension (today's metered usage still counts)")
    p.add_argument("name")
    p.add_argument("--reason")
    p.set_defaults(func=_resume)

    project = _subcommands(groups, "project")
    p = project.add_parser("budget", help="show or set a project's daily egress budgets (per person, all members)")
    p.add_argument("name")
    p.add_argument("--daily-mb", type=float, help="MiB per person per UTC day")
    p.add_argument("--project-mb", type=float, help="MiB per UTC day for all members together")
    p.add_argument("--days", type=float, help="days it must take to carry the extracts out; budgets derive from it")
    p.add_argument("--default", action="store_true", help="derive everything from the installation's settings")
    p.add_argument("--json", action="store_true", help="machine-readable, bytes as numbers")
    p.set_defaults(func=_budget)


REGISTRARS = [register_metering]
