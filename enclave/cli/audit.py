"""`enclave audit ...`: read, export and verify the audit log."""

from __future__ import annotations

import json
import sys

from ..state.audit import verify_chain
from ..state.audit_query import AuditFilter, as_record, dataset_access, find_events
from .context import operator_context


def _filter(args) -> AuditFilter:
    return AuditFilter(user=args.user, project=args.project, action=args.action, since=args.since,
                       until=args.until)


def _show(args):
    with operator_context().db.reading() as session:
        events = list(find_events(session, _filter(args)))
        lines = [f"{e.seq:>6}  {e.at}  {e.actor:<16} {e.action:<22} {e.outcome:<8} {e.target}  "
                 f"{json.dumps(e.details, sort_keys=True) if e.details else ''}".rstrip() for e in events]
    print("\n".join(lines[-args.limit:]) if lines else "No matching events.")


def _export(args):
    out = open(args.out, "w") if args.out != "-" else sys.stdout
    count = 0
    with operator_context().db.reading() as session:
        for event in find_events(session, _filter(args)):
            out.write(json.dumps(as_record(event), sort_keys=True) + "\n")
            count += 1
    if out is not sys.stdout:
        out.close()
        print(f"Wrote {count} events to {args.out} (JSON lines).")


def _access(args):
    with operator_context().db.reading() as session:
        rows = dataset_access(session, args.dataset)
    if not rows:
        print("No workspace has mounted that data.")
    for row in rows:
        print(f"{row['at']}  {row['user']:<16} {row['project']:<16} {row['dataset']}")


def _verify(args):
    with operator_context().db.reading() as session:
        problems = verify_chain(session)
    if problems:
        for p in problems:
            print(f"entry {p.seq}: {p.message}")
        return 1
    print("The audit log is intact.")


def _filters(parser):
    parser.add_argument("--user", help="events by or about this person")
    parser.add_argument("--project")
    parser.add_argument("--action", help="an action or a prefix, e.g. 'login' or 'project.'")
    parser.add_argument("--since", help="ISO date or time (UTC), inclusive")
    parser.add_argument("--until", help="ISO date or time (UTC), exclusive")


def register_audit(groups):
    parser = groups.add_parser("audit", help="read, export and verify the audit log")
    sub = parser.add_subparsers(dest="action_name", required=True)
    p = sub.add_parser("show", help="print matching events, oldest first")
    _filters(p)
    p.add_argument("--limit", type=int, default=200, help="show at most the newest N (default 200)")
    p.set_defaults(func=_show)
    p = sub.add_parser("export", help="write matching events as JSON lines (for a SIEM)")
    _filters(p)
    p.add_argument("--out", default="-", help="file to write, '-' for standard output")
    p.set_defaults(func=_export)
    p = sub.add_parser("access", help="who had which dataset mounted, and when")
    p.add_argument("--dataset", help="name or name@version")
    p.set_defaults(func=_access)
    sub.add_parser("verify", help="detect edited, inserted, reordered or deleted entries").set_defaults(func=_verify)
