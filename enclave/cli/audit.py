"""`enclave audit ...`: read, export and verify the one audit log (the enclave's and the airlock's)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..airlock.forwarding import catch_up
from ..airlock.verify import verify_one_log
from ..errors import InvalidInput
from ..state.audit_query import OUTCOMES, AuditFilter, as_record, dataset_access, find_events
from .audit_lines import readable_line
from .context import operator_context


def _filter(args) -> AuditFilter:
    return AuditFilter(
        user=args.user,
        project=args.project,
        action=args.action,
        since=args.since,
        until=args.until,
        outcome=args.outcome,
    )


def _catch_up(ctx) -> None:
    """Bring in airlock entries not forwarded yet (the airlock forwards after each commit; this covers a crash)."""
    try:
        _, refused = catch_up(ctx.settings)
    except Exception as failure:  # reading still works; verify will report what is missing
        refused = f"{type(failure).__name__}: {failure}"
    if refused:
        print(f"warning: the airlock's entries could not all be brought into the log: {refused}", file=sys.stderr)


def _show(args):
    query = _filter(args)
    ctx = operator_context()
    _catch_up(ctx)
    with ctx.db.reading() as session:
        events = list(find_events(session, query))[-args.limit :]
        if args.json:
            lines = [json.dumps(as_record(e), sort_keys=True) for e in events]
        else:
            width = None if args.long else shutil.get_terminal_size((160, 24)).columns
            lines = [readable_line(e, width) for e in events]
    if lines:
        print("\n".join(lines))
    elif not args.json:
        print("No matching events.")


def _export(args):
    query = _filter(args)
    ctx = operator_context()
    _catch_up(ctx)
    if args.out == "-":
        with ctx.db.reading() as session:
            for event in find_events(session, query):
                sys.stdout.write(json.dumps(as_record(event), sort_keys=True) + "\n")
        return
    target = Path(args.out)
    if not target.parent.is_dir():
        raise InvalidInput(f"The folder {target.parent} does not exist: create it or choose another --out.")
    # Written beside the target and renamed into place: a reader never sees half an export.
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    count = 0
    try:
        with os.fdopen(fd, "w") as out, ctx.db.reading() as session:
            for event in find_events(session, query):
                out.write(json.dumps(as_record(event), sort_keys=True) + "\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    print(f"Wrote {count} events to {target} (JSON lines, mode 0600).")


def _access(args):
    with operator_context().db.reading() as session:
        rows = dataset_access(
            session, args.dataset, user=args.user, project=args.project, since=args.since, until=args.until
        )
    if args.json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return
    if not rows:
        print("No workspace has mounted that data.")
    for row in rows:
        print(f"{row['at']}  {row['user']:<16} {row['project']:<16} {row['dataset']}")


def _verify(args):
    ctx = operator_context()
    _catch_up(ctx)
    verdict = verify_one_log(ctx.settings)
    airlock = (
        "the airlock has not run here"
        if verdict.airlock_entries is None
        else f"{verdict.airlock_entries} airlock entries"
    )
    for line in verdict.foreign:
        print(f"note: {line}")
    if verdict.foreign:
        print(
            f"note: {len(verdict.foreign)} anchor line(s) belong to another installation's database; they were "
            "set aside. Find what wrote them (another installation or a test run given this state folder)."
        )
    if verdict.problems:
        for problem in verdict.problems:
            print(problem)
        print(
            f"The audit log is NOT intact: {len(verdict.problems)} problem(s) in {verdict.enclave_entries} "
            f"entries ({airlock}). Keep copies of the database and the anchor before anything else."
        )
        return 1
    print(
        f"The audit log is intact: {verdict.enclave_entries} entries, {airlock}, all in the one log, "
        "matching the anchor."
    )


def _filters(parser):
    parser.add_argument("--user", help="events by or about this person")
    parser.add_argument("--project")
    parser.add_argument(
        "--action", "--event", dest="action", help="an action or a prefix, e.g. 'login', 'project.' or 'egress.'"
    )
    parser.add_argument(
        "--since", help="ISO date or time (UTC unless it says), or a span back from now: 30m, 24h, 7d, 2w; inclusive"
    )
    parser.add_argument("--until", help="as --since; exclusive")
    parser.add_argument("--outcome", choices=OUTCOMES)


def register_audit(groups):
    parser = groups.add_parser("audit", help="read, export and verify the one audit log")
    sub = parser.add_subparsers(dest="action_name", required=True)
    p = sub.add_parser("show", help="print matching events, oldest first")
    _filters(p)
    p.add_argument("--limit", type=int, default=200, help="show at most the newest N (default 200)")
    p.add_argument("--json", action="store_true", help="one JSON object per line, as export writes")
    p.add_argument(
        "--long",
        action="store_true",
        help="every detail, the sequence number and the hash; lines are not cut to the terminal's width",
    )
    p.set_defaults(func=_show)
    p = sub.add_parser("export", help="write matching events as JSON lines (for a SIEM)")
    _filters(p)
    p.add_argument("--out", default="-", help="file to write (replaced whole), '-' for standard output")
    p.set_defaults(func=_export)
    p = sub.add_parser("access", help="who had which dataset mounted, and when")
    p.add_argument("--dataset", help="name or name@version")
    p.add_argument("--user")
    p.add_argument("--project")
    p.add_argument("--since", help="as for 'show'")
    p.add_argument("--until", help="as for 'show'")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_access)
    sub.add_parser(
        "verify", help="detect edited, inserted, reordered or deleted entries in the enclave's and the airlock's logs"
    ).set_defaults(func=_verify)
