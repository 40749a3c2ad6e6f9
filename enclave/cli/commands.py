"""The CLI's subcommands: argument parsing and printing only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..errors import InvalidInput
from ..operations import datasets, people, projects
from . import installation
from .audit import register_audit
from .context import operator_context
from .spark import register_spark
from .swarm import register_swarm


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def _stopped(names: list[str]) -> None:
    if names:
        print("Stopped workspaces: " + ", ".join(names))


# --- projects -----------------------------------------------------------------


def _project_create(args):
    p = projects.create_project(
        operator_context(), args.name, title=args.title, image=args.image, approvals_required=args.approvals
    )
    print(f"Created project {p.name}.")


def _project_list(args):
    rows = [
        [p.name, p.status.value, p.image, p.mem_limit or "-", str(p.cpu_limit or "-"), p.title]
        for p in projects.list_projects(operator_context())
    ]
    _table(rows, ["NAME", "STATUS", "IMAGE", "MEM", "CPU", "TITLE"])


def _project_status(action):
    def run(args):
        ctx = operator_context()
        result = {
            "suspend": projects.suspend_project,
            "resume": projects.resume_project,
            "archive": projects.archive_project,
        }[action](ctx, args.name)
        print(f"Project {args.name}: {action} done.")
        if isinstance(result, list):
            _stopped(result)

    return run


def _project_limits(args):
    p = projects.set_limits(operator_context(), args.name, mem_limit=args.mem, cpu_limit=args.cpu, pids_limit=args.pids)
    print(
        f"Project {p.name}: memory {p.mem_limit or 'default'}, CPU {p.cpu_limit or 'default'}, "
        f"processes {p.pids_limit or 'default'} (applies to workspaces started from now on)."
    )


def _project_idle_timeout(args):
    from ..settings import EnclaveSettings
    from ..state.queries import get_project

    ctx = operator_context()
    if args.minutes is not None or args.default:
        seconds = None if args.default else round(args.minutes * 60)
        projects.set_idle_timeout(ctx, args.name, seconds)
    with ctx.db.reading() as session:
        own = get_project(session, args.name).idle_timeout
    effective = EnclaveSettings().idle_timeout if own is None else own
    source = "the installation's default" if own is None else "set for the project"
    print(
        f"{args.name}: workspaces idle for {effective / 60:g} minutes are stopped ({source})"
        if effective
        else f"{args.name}: idle workspaces are never stopped ({source})"
    )


def register_project(groups):
    parser = groups.add_parser("project", help="create and manage projects")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("create", help="create a project")
    p.add_argument("name")
    p.add_argument("--title", default="")
    p.add_argument("--image", default="workspace", help="image kind: workspace (default), genomics or r")
    p.add_argument("--approvals", type=int, default=2, help="independent approvals an output release needs")
    p.set_defaults(func=_project_create)
    sub.add_parser("list", help="list projects").set_defaults(func=_project_list)
    for action, text in (
        ("suspend", "stop its workspaces now and refuse new ones"),
        ("resume", "allow workspaces again"),
        ("archive", "close for good"),
    ):
        p = sub.add_parser(action, help=text)
        p.add_argument("name")
        p.set_defaults(func=_project_status(action))
    p = sub.add_parser(
        "idle-timeout", help="minutes without activity before the project's workspaces are stopped (no option: show it)"
    )
    p.add_argument("name")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--minutes", type=float, help="0: never stop them")
    group.add_argument("--default", action="store_true", help="back to the installation's default")
    p.set_defaults(func=_project_idle_timeout)
    p = sub.add_parser("limits", help="set per-project workspace limits")
    p.add_argument("name")
    p.add_argument("--mem", help="memory, e.g. 8G")
    p.add_argument("--cpu", type=float, help="cores, e.g. 2")
    p.add_argument("--pids", type=int, help="maximum processes")
    p.set_defaults(func=_project_limits)


# --- users and members ---------------------------------------------------------


def _user_add(args):
    account = people.add_user(operator_context(), args.name, args.role, args.email or "")
    print(f"Created {account.name} ({', '.join(account.roles)}).")
    print(f"Initial password (shown once; hand it over securely): {account.initial_password}")
    if account.totp_uri:
        print("Second factor (shown once; load it into their authenticator app, e.g. as a QR code):")
        print(account.totp_uri)


def _user_remove(args):
    _stopped(people.remove_user(operator_context(), args.name))
    print(f"Removed {args.name}: account disabled, memberships ended.")


def _user_list(args):
    rows = [
        [u["name"], u["status"], ",".join(u["roles"]), ",".join(u["projects"]) or "-"]
        for u in people.list_users(operator_context())
    ]
    _table(rows, ["NAME", "STATUS", "ROLES", "PROJECTS"])


def _user_role(grant: bool):
    def run(args):
        fn = people.grant_role if grant else people.revoke_role
        roles = fn(operator_context(), args.name, args.role)
        print(f"{args.name} now has roles: {', '.join(roles)} (the hub applies it within a minute).")

    return run


def _user_set_email(args):
    people.set_email(operator_context(), args.name, args.email)
    print(f"Notifications for {args.name} go to {args.email}." if args.email else f"{args.name} gets no email.")


def _user_reset_password(args):
    password = people.reset_password(operator_context(), args.name)
    print(f"New password for {args.name} (shown once): {password}")


def _user_unlock(args):
    forgiven = people.unlock_user(operator_context(), args.name)
    print(
        f"{args.name} can log in again ({forgiven} failed login(s) in a row forgiven)."
        if forgiven
        else f"{args.name} was not locked; nothing changed."
    )


def _user_enable_totp(args):
    uri = people.enable_totp(operator_context(), args.name)
    print(f"TOTP is now required for {args.name}. Load this into their authenticator app (shown once):")
    print(uri)


def register_user(groups):
    parser = groups.add_parser("user", help="manage accounts and roles")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("add", help="create an account and print its initial password once")
    p.add_argument("name")
    p.add_argument("--role", action="append", required=True, choices=["analyst", "reviewer", "operator"])
    p.add_argument("--email", help="where the person's notifications go (optional)")
    p.set_defaults(func=_user_add)
    p = sub.add_parser("set-email", help="set where the person's notifications go ('' for nowhere)")
    p.add_argument("name")
    p.add_argument("email")
    p.set_defaults(func=_user_set_email)
    p = sub.add_parser("remove", help="disable an account, end its memberships, stop its workspaces")
    p.add_argument("name")
    p.set_defaults(func=_user_remove)
    sub.add_parser("list", help="list accounts, roles and projects").set_defaults(func=_user_list)
    p = sub.add_parser("unlock", help="let an account locked after failed logins log in again now")
    p.add_argument("name")
    p.set_defaults(func=_user_unlock)
    for name, grant in (("grant-role", True), ("revoke-role", False)):
        p = sub.add_parser(name, help=f"{'give' if grant else 'take away'} a role (reaches the hub within a minute)")
        p.add_argument("name")
        p.add_argument("role", choices=["analyst", "reviewer", "operator"])
        p.set_defaults(func=_user_role(grant))
    p = sub.add_parser("reset-password", help="set a new random password and print it once")
    p.add_argument("name")
    p.set_defaults(func=_user_reset_password)
    p = sub.add_parser("enable-totp", help="require a TOTP second factor at login")
    p.add_argument("name")
    p.set_defaults(func=_user_enable_totp)
    p = sub.add_parser("disable-totp", help="stop requiring the second factor (e.g. a lost phone)")
    p.add_argument("name")
    p.set_defaults(func=_user_disable_totp)


def _user_disable_totp(args):
    people.disable_totp(operator_context(), args.name)
    print(f"{args.name} logs in with a password only until TOTP is enabled again.")


def _member_add(args):
    people.add_member(operator_context(), args.project, args.user)
    print(f"{args.user} is now a member of {args.project}.")


def _member_remove(args):
    _stopped(people.remove_member(operator_context(), args.project, args.user))
    print(f"{args.user} is no longer a member of {args.project}.")


def register_member(groups):
    parser = groups.add_parser("member", help="add people to projects and remove them")
    sub = parser.add_subparsers(dest="action", required=True)
    for action, fn, text in (
        ("add", _member_add, "give a user access to a project"),
        ("remove", _member_remove, "end access and stop their workspace now"),
    ):
        p = sub.add_parser(action, help=text)
        p.add_argument("project")
        p.add_argument("user")
        p.set_defaults(func=fn)


# --- datasets ------------------------------------------------------------------


def _record_changes(args) -> dict:
    """The data register's fields given on the command line (those not given are left out)."""
    names = {
        "description": "description",
        "provider": "provider",
        "owner_contact": "owner_contact",
        "received": "received_on",
        "expires": "expires_on",
        "approved_by": "approved_by",
    }
    return {field: getattr(args, option) for option, field in names.items() if getattr(args, option) is not None}


def _dataset_register(args):
    record = datasets.DataRecord(**{"received_on": date.today(), **_record_changes(args)})
    d = datasets.register_dataset(
        operator_context(),
        args.name,
        args.version,
        Path(args.folder),
        checksums_file=Path(args.checksums) if args.checksums else None,
        identifier_column=args.id_column,
        record=record,
    )
    print(f"Registered {d.label}: {d.file_count} files, {d.total_bytes} bytes, manifest {d.manifest_digest}.")


def _dataset_record(args):
    changes = _record_changes(args)
    if not changes:
        raise InvalidInput("Give at least one field to change, e.g. --expires 2027-12-31.")
    d = datasets.update_record(operator_context(), args.name, args.version, **changes)
    print(f"Recorded for {d.label}: " + ", ".join(f"{k} {v}" for k, v in changes.items()) + ".")


def _ends(d) -> str:
    if d.expires_on is None:
        return "-"
    return f"{d.expires_on} (ended)" if d.expires_on < date.today() else str(d.expires_on)


def _dataset_list(args):
    rows = [
        [
            d.name,
            d.version,
            str(d.file_count),
            str(d.total_bytes),
            d.provider or "-",
            str(d.received_on or "-"),
            _ends(d),
            d.approved_by or "-",
            d.path,
        ]
        for d in datasets.list_datasets(operator_context())
    ]
    _table(
        rows, ["NAME", "VERSION", "FILES", "BYTES", "PROVIDER", "RECEIVED", "AGREEMENT ENDS", "APPROVED BY", "FOLDER"]
    )


def _dataset_show(args):
    from ..state.queries import get_dataset

    with operator_context().db.reading() as session:
        d = get_dataset(session, args.name, args.version)
        print(
            f"{d.label}\n  folder:            {d.path}\n  files:             {d.file_count} "
            f"({d.total_bytes} bytes), manifest {d.manifest_digest}\n"
            f"  description:       {d.description or '-'}\n  provider:          {d.provider or '-'}\n"
            f"  data owner:        {d.owner_contact or '-'}\n  received:          {d.received_on or '-'}\n"
            f"  agreement ends:    {_ends(d)}\n  receipt approved:  {d.approved_by or '-'}\n"
            f"  registered:        {d.registered_at:%Y-%m-%d %H:%M} UTC"
        )


def _record_options(p, required: bool) -> None:
    """The data register's fields: required when registering (except description, expiry), optional to change."""
    p.add_argument("--description", help="what the data is")
    p.add_argument("--provider", required=required, help="who provided it (an organisation)")
    p.add_argument(
        "--owner-contact",
        dest="owner_contact",
        required=required,
        help="the data owner's contact, e.g. an email address",
    )
    p.add_argument("--received", type=date.fromisoformat, help="when it was received, YYYY-MM-DD (default today)")
    p.add_argument(
        "--expires",
        type=date.fromisoformat,
        help="when the data access agreement ends, YYYY-MM-DD: no approvals after it",
    )
    p.add_argument(
        "--approved-by",
        dest="approved_by",
        required=required,
        help="who approved receiving it (a person, or a committee and its reference)",
    )


def _dataset_verify(args):
    ctx = operator_context()
    from ..state.queries import get_dataset

    with ctx.db.transaction() as session:
        dataset = get_dataset(session, args.name, args.version)
    datasets.check_dataset_integrity(dataset)
    checked = datasets.check_extracts_integrity(ctx, args.name, args.version)
    print(f"{dataset.label} matches its manifest ({dataset.file_count} files); so do its {checked} project extract(s).")


def _dataset_approve(args):
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields is not None else None
    datasets.approve_dataset(operator_context(), args.project, args.name, args.version, fields=fields)
    print(
        f"{args.name}@{args.version} is approved for {args.project}; its extract (pseudonymised, "
        f"{'fields ' + ', '.join(fields) if fields else 'all fields'}) is mounted read-only in new workspaces."
    )


def _dataset_revoke(args):
    _stopped(datasets.revoke_dataset(operator_context(), args.project, args.name, args.version))
    print(f"{args.name}@{args.version} is no longer approved for {args.project}.")


def register_dataset(groups):
    parser = groups.add_parser("dataset", help="register datasets and approve them for projects")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("register", help="register a folder as a dataset version, recording its checksums")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("folder")
    p.add_argument("--checksums", help="the provider's sha256sum-format file to check the folder against")
    p.add_argument("--id-column", default="participant_id", help="column holding participant identifiers")
    _record_options(p, required=True)
    p.set_defaults(func=_dataset_register)
    p = sub.add_parser("record", help="change the data register's record of a dataset version (e.g. --expires)")
    p.add_argument("name")
    p.add_argument("version")
    _record_options(p, required=False)
    p.set_defaults(func=_dataset_record)
    sub.add_parser("list", help="list registered datasets with their register records").set_defaults(func=_dataset_list)
    p = sub.add_parser("show", help="a dataset version's whole record")
    p.add_argument("name")
    p.add_argument("version")
    p.set_defaults(func=_dataset_show)
    p = sub.add_parser("verify", help="check a dataset's files against its manifest")
    p.add_argument("name")
    p.add_argument("version")
    p.set_defaults(func=_dataset_verify)
    for action, fn, text in (
        ("approve", _dataset_approve, "approve a dataset for a project (checks it first)"),
        ("revoke", _dataset_revoke, "end an approval and stop the project's workspaces"),
    ):
        p = sub.add_parser(action, help=text)
        p.add_argument("project")
        p.add_argument("name")
        p.add_argument("version")
        if action == "approve":
            p.add_argument(
                "--fields",
                help="comma-separated fields to extract (default: all); "
                "the identifier column is always kept, pseudonymised. For a "
                "genotype dataset the fields are samples.parquet's columns; "
                "the VCF and MatrixTable are always extracted whole",
            )
        p.set_defaults(func=fn)


# --- leak tracing ----------------------------------------------------------------


def _trace(args):
    from ..extracts.trace import RULE, trace_file

    report = trace_file(operator_context().db, Path(args.file))
    print(f"{report.file}: {report.tokens} numbers ({report.distinct_tokens} distinct) in its {report.evidence}.")
    if not report.projects:
        print("Matches no project.")
    for m in report.projects:
        canaries = ", ".join(m.canaries) if m.canaries else "none"
        print(
            f"Project {m.project}: confidence {m.confidence}; {m.pseudonyms} pseudonyms matched "
            f"(extracts {', '.join(m.extracts) or '-'}); canaries matched: {canaries}."
        )
    for s in report.sources:
        verdict = (
            "matches the source cohort, not a project extract"
            if s.confidence != "low"
            else "the file may come from the source data, not an extract"
        )
        print(
            f"SOURCE identifiers of {s.dataset}: {s.identifiers} matched ({s.expected_by_chance:.1f} expected by "
            f"chance), confidence {s.confidence}: {verdict}."
        )
    print(RULE)


def register_trace(groups):
    p = groups.add_parser("trace", help="find which project's extract a leaked file came from")
    p.add_argument("file", help="CSV/TSV, Parquet, VCF (plain or gzip) or text")
    p.set_defaults(func=_trace)


# --- set-up ------------------------------------------------------------------


def _images_build(args):
    from ..images.build import build_image, build_order
    from ..images.catalog import KINDS
    from ..images.patches import refresh_stamp

    refresh = refresh_stamp() if args.refresh else None  # one stamp: each image refreshed once per run
    for kind in build_order(args.kind or KINDS):
        build_image(kind, refresh=refresh)


def _cohort_generate(args):
    from ..cohort import generate_cohort

    summary = generate_cohort(Path(args.out), participants=args.participants, seed=args.seed)
    print(f"Generated {summary.participants} participants in {summary.out_dir} ({', '.join(summary.files)}).")


def _cohort_genotypes(args):
    from ..cohort.genotypes import generate_genotypes
    from ..errors import InvalidInput

    try:
        summary = generate_genotypes(
            Path(args.out),
            Path(args.cohort),
            samples=args.samples,
            variants=args.variants,
            seed=args.seed,
            truth=Path(args.truth) if args.truth else None,
            causal=args.causal,
            with_matrix_table=not args.no_matrix_table,
        )
    except ValueError as e:
        raise InvalidInput(f"{e}.") from None
    print(
        f"Generated {summary.samples:,} samples x {summary.variants:,} variants in {summary.out_dir} "
        f"({', '.join(summary.files)}); {len(summary.causal)} causal variants recorded in {summary.truth} "
        "(outside the dataset folder: do not register or copy it with the data)."
    )


def _demo_seed(args):
    from ..demo import PACKAGES, seed_demo

    ctx = operator_context()
    seed_demo(
        ctx,
        participants=args.participants,
        genotype_samples=args.genotype_samples,
        genotype_variants=args.genotype_variants,
        packages=PACKAGES,
    )
    installation.record(ctx.settings)


def _init(args):
    ctx = operator_context()  # makes the state folder and database
    pointer = installation.record(ctx.settings)
    print(
        f"Installation '{ctx.settings.instance}' is ready at {ctx.settings.state_dir}. Later commands of this "
        f"account use it (recorded in {pointer}); ENCLAVE_STATE_DIR names another."
    )


def _remove_instance(args):
    import docker

    from ..isolation.network import remove_instance
    from ..settings import EnclaveSettings

    instance = EnclaveSettings().instance
    removed = remove_instance(docker.from_env(), instance)
    print(f"Removed the containers, networks ({len(removed)}) and firewall rules of installation {instance}.")


def register_setup(groups):
    p = groups.add_parser(
        "init",
        help="make an empty installation in $ENCLAVE_STATE_DIR (or /var/lib/enclave) "
        "and point this account's later commands at it",
    )
    p.set_defaults(func=_init, installation=installation.CREATE)
    p = groups.add_parser("teardown", help="remove this installation's containers, networks and firewall rules")
    p.set_defaults(func=_remove_instance)
    p = groups.add_parser("images", help="build the workspace images (cached by content)")
    p.set_defaults(installation=installation.NONE)
    sub = p.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build", help="build images whose content changed; unchanged ones are kept")
    b.add_argument("--kind", action="append")
    b.add_argument(
        "--refresh",
        action="store_true",
        help="rebuild with today's Debian security updates and packages; an image whose packages changed gets "
        "a new tag (workspaces started afterwards use it)",
    )
    b.set_defaults(func=_images_build)
    p = groups.add_parser("cohort", help="synthetic cohort data")
    p.set_defaults(installation=installation.NONE)
    sub = p.add_subparsers(dest="action", required=True)
    g = sub.add_parser("generate", help="write a seeded synthetic biobank-like cohort as Parquet")
    g.add_argument("out")
    g.add_argument("--participants", type=int, default=500_000)
    g.add_argument("--seed", type=int, default=20260521)
    g.set_defaults(func=_cohort_generate)
    from ..cohort import genotypes as geno

    g = sub.add_parser(
        "genotypes",
        help="simulate genotypes (VCF, Hail MatrixTable) and a trait with real associations for a sample of a cohort",
    )
    g.add_argument("out", help="new or empty dataset folder")
    g.add_argument("--cohort", required=True, help="the phenotype cohort folder (from 'cohort generate')")
    g.add_argument("--samples", type=int, default=geno.DEFAULT_SAMPLES)
    g.add_argument("--variants", type=int, default=geno.DEFAULT_VARIANTS)
    g.add_argument("--causal", type=int, default=geno.DEFAULT_CAUSAL, help="number of causal variants")
    g.add_argument("--seed", type=int, default=geno.DEFAULT_SEED)
    g.add_argument("--truth", help="where to write the causal variants (default: OUT.truth.json beside OUT)")
    g.add_argument("--no-matrix-table", action="store_true", help="write the VCF and samples only (no Hail)")
    g.set_defaults(func=_cohort_genotypes)
    p = groups.add_parser("demo", help="the demo installation")
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("seed", help="demo cohort, project and accounts (idempotent; passwords printed once)")
    s.add_argument("--participants", type=int, default=500_000)
    s.add_argument(
        "--genotype-samples",
        type=int,
        default=geno.DEFAULT_SAMPLES,
        help="samples of the genotypes dataset (0: no genotypes dataset)",
    )
    s.add_argument("--genotype-variants", type=int, default=geno.DEFAULT_VARIANTS)
    s.set_defaults(func=_demo_seed, installation=installation.CREATE)


REGISTRARS = [
    register_project,
    register_user,
    register_member,
    register_dataset,
    register_trace,
    register_audit,
    register_spark,
    register_setup,
    register_swarm,
]
