"""`enclave egress-usage`, `enclave user suspend|resume` and `enclave project budget`."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, timezone

from ..errors import InvalidInput
from ..metering.budgets import MIB
from ..metering.meter import CHANNELS
from ..metering.report import readable, usage_report
from ..operations import people, projects
from .context import operator_context

_COLUMNS = ("kernel", "terminal", "contents", "app", "other-api", "page", "websocket", "hub", "airlock")
assert set(_COLUMNS) == CHANNELS


def _day(text: str | None) -> date:
    if text is None:
        return datetime.now(timezone.utc).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--day {text!r} is not a date: write it as YYYY-MM-DD (a UTC day).") from None


def _usage(args):
    ctx = operator_context()
    day = _day(args.day)
    with ctx.db.reading() as session:
        lines = usage_report(session, ctx.settings, day, user=args.user, project=args.project)
    if args.json:
        print(json.dumps([line.as_dict() for line in lines], indent=2))
        return
    if not lines:
        print(f"No data-bearing traffic metered on {day.isoformat()} (UTC).")
        return
    header = ["USER", "PROJECT", *(c.upper() for c in _COLUMNS), "TOTAL", "BUDGET", "USED", "ACCOUNT"]
    rows = [[line.user, line.project, *(readable(line.channels.get(c, 0)) for c in _COLUMNS),
             readable(line.total), readable(line.budget), f"{line.percent:.1f}%", line.account] for line in lines]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    print(f"Egress to browsers on {day.isoformat()} (UTC), largest first:")
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def _suspend(args):
    stopped = people.suspend_user(operator_context(), args.name, args.reason)
    print(f"Suspended {args.name}: login and new workspaces refused; logged-in sessions end within a minute.")
    if stopped:
        print("Stopped workspaces: " + ", ".join(stopped))


def _resume(args):
    people.resume_user(operator_context(), args.name, args.reason or "")
    print(f"Resumed {args.name}. Today's metered usage still counts; to allow more today, raise the "
          "project's budget with 'enclave project budget <project> --daily-mb N'.")


def _budget(args):
    if args.default:
        daily_bytes = None
    elif args.daily_mb is None or args.daily_mb <= 0:
        raise InvalidInput("Give --daily-mb with a positive number of MiB, or --default.")
    else:
        daily_bytes = int(args.daily_mb * MIB)
    result = projects.set_egress_budget(operator_context(), args.name, daily_bytes)
    budget = "the installation default" if result is None else readable(result)
    print(f"Project {args.name}: daily egress budget per person is {budget} (running edges apply it within "
          "a second).")


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
    p = project.add_parser("budget", help="set a project's daily egress budget per person")
    p.add_argument("name")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--daily-mb", type=float, help="MiB per person per UTC day")
    which.add_argument("--default", action="store_true", help="use the installation's default again")
    p.set_defaults(func=_budget)


REGISTRARS = [register_metering]
