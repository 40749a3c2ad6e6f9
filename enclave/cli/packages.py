"""`enclave packages add|remove|list|verify`: the Python packages workspaces may install (docs/operators.md)."""

from __future__ import annotations

from pathlib import Path

from .context import operator_context


def _scope(project: str | None) -> str:
    return f"project {project}" if project else "all projects"


def _add(args):
    from ..packages import add_package

    entry = add_package(
        operator_context(),
        args.requirement,
        project=args.project,
        wheels_from=Path(args.wheels) if args.wheels else None,
    )
    print(f"Allowed {entry.name} {entry.version} for {_scope(args.project)}, with {len(entry.files)} file(s):")
    for filename, sha256, size in entry.files:
        print(f"  {filename}  {size:>10} bytes  sha256 {sha256}")
    print("Workspaces install it with 'pip install' (or '%pip install' in a notebook) from now on.")


def _remove(args):
    from ..packages import remove_package

    removed = remove_package(operator_context(), args.requirement, project=args.project)
    versions = ", ".join(f"{e.name} {e.version}" for e in removed)
    print(f"Removed {versions} from the allowlist of {_scope(args.project)}.")
    print("Workspaces that installed it keep their copy until the analyst runs 'pip uninstall'.")


def _list(args):
    from ..packages import list_packages

    entries = list_packages(operator_context(), project=args.project)
    if not entries:
        print(f"No packages are allowed for {_scope(args.project)}.")
        return 0
    print(f"{'SCOPE':20} {'PACKAGE':30} {'VERSION':14} {'FILES':>5}  ADDED BY")
    for e in entries:
        print(f"{e.scope:20} {e.name:30} {e.version:14} {len(e.files):>5}  {e.added_by} {e.added_at:%Y-%m-%d}")
        if args.files:
            for filename, sha256, size in e.files:
                print(f"    {filename}  {size} bytes  sha256 {sha256}")
    return 0


def _verify(args):
    from ..packages.allowlist import verify_published

    problems = verify_published(operator_context())
    for p in problems:
        print(f"{p.scope}: {p.filename}: {p.problem}")
    if problems:
        print("The published folders differ from the records: remove and add the packages named again.")
        return 1
    print("Every published file has its recorded SHA-256, and nothing else is published.")
    return 0


def register_packages(groups):
    parser = groups.add_parser("packages", help="the Python packages workspaces may install (the package index)")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("add", help="fetch a package and its dependencies (wheels), record their hashes, publish them")
    p.add_argument("requirement", metavar="NAME[==VERSION]")
    p.add_argument("--project", help="allow it for this project only (default: every project)")
    p.add_argument(
        "--from",
        dest="wheels",
        metavar="DIR",
        help="a folder of wheels to take it from, instead of the host's package index (an air-gapped host)",
    )
    p.set_defaults(func=_add)
    p = sub.add_parser("remove", help="withdraw a package (every version, or the one named) from an allowlist")
    p.add_argument("requirement", metavar="NAME[==VERSION]")
    p.add_argument("--project", help="the project's own allowlist (default: the one for every project)")
    p.set_defaults(func=_remove)
    p = sub.add_parser("list", help="the allowed packages; with --project, what that project's index serves")
    p.add_argument("--project")
    p.add_argument("--files", action="store_true", help="also each file and its SHA-256")
    p.set_defaults(func=_list)
    p = sub.add_parser("verify", help="check the published folders against the recorded hashes (exit 1 if not)")
    p.set_defaults(func=_verify)


REGISTRARS = [register_packages]
