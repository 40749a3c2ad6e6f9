"""The demo installation `make up` brings up: a synthetic cohort, one project, four accounts.

Idempotent: run it again and it adds only what is missing. Passwords are
generated for each new account and printed once; nothing fixed is stored.
"""

from __future__ import annotations

from sqlalchemy import select

from .cohort import generate_cohort, genotypes
from .errors import EnclaveError
from .operations import datasets, people, projects
from .operations.base import OperatorContext
from .packages import add_package, list_packages
from .state.models import Dataset, Project, User, utcnow
from .state.queries import active_approvals

PROJECT = "demo"


def demo_record(description: str) -> datasets.DataRecord:
    """The data register's record of a demo dataset: generated here, by the set-up, for the demo."""
    return datasets.DataRecord(
        description=description,
        provider="enclave demo (generated on this machine)",
        owner_contact="the operator of this demo",
        received_on=utcnow().date(),
        approved_by="make up (demo)",
    )


DATASET = ("demo-cohort", "v1")
GENOTYPES = ("genotypes", "v1")  # simulated from DATASET's participants; truth beside its folder
# Two reviewers: the airlock releases a file only when two reviewers other than its author approve it.
ACCOUNTS = (("analyst", "analyst"), ("reviewer", "reviewer"), ("reviewer2", "reviewer"), ("operator", "operator"))
# What `enclave demo seed` allows the demo project to `pip install`: small, pure Python, no dependencies,
# fetched through the host's index (on a fresh machine, PyPI through its proxy).
PACKAGES = ("humanize==4.17.0",)  # not in the workspace image, so the demo really installs it


def seed_demo(
    ctx: OperatorContext,
    participants: int = 500_000,
    say=print,
    genotype_samples: int = genotypes.DEFAULT_SAMPLES,
    genotype_variants: int = genotypes.DEFAULT_VARIANTS,
    packages: tuple[str, ...] = (),
) -> dict[str, str]:
    """Create what is missing; returns {account: initial password} for accounts created now.

    genotype_samples=0 leaves out the genotypes dataset. `packages` (the CLI gives PACKAGES) are allowed
    for the demo project, fetched through the host's index; a host that cannot fetch them is told how to
    add them later, and the rest of the demo is made all the same.
    """
    with ctx.db.transaction() as session:
        have_dataset = (
            session.execute(
                select(Dataset).where(Dataset.name == DATASET[0], Dataset.version == DATASET[1])
            ).scalar_one_or_none()
            is not None
        )
        have_genotypes = (
            session.execute(
                select(Dataset).where(Dataset.name == GENOTYPES[0], Dataset.version == GENOTYPES[1])
            ).scalar_one_or_none()
            is not None
        )
        have_project = session.execute(select(Project).where(Project.name == PROJECT)).scalar_one_or_none()
        existing_users = set(session.execute(select(User.name)).scalars())

    if not have_dataset:
        folder = ctx.settings.datasets_dir / DATASET[0] / DATASET[1]
        if not folder.exists():
            say(f"Generating a synthetic cohort of {participants:,} participants in {folder} ...")
            generate_cohort(folder, participants=participants)
        datasets.register_dataset(
            ctx,
            DATASET[0],
            DATASET[1],
            folder,
            record=demo_record("A synthetic biobank-like cohort: participants, baseline, diagnoses (no real person)."),
        )
        say(f"Registered dataset {DATASET[0]}@{DATASET[1]}.")
    wanted = [DATASET]
    if genotype_samples:
        wanted.append(GENOTYPES)
    if genotype_samples and not have_genotypes:
        folder = ctx.settings.datasets_dir / GENOTYPES[0] / GENOTYPES[1]
        if not folder.exists() or not any(folder.iterdir()):
            say(
                f"Simulating genotypes of {genotype_samples:,} participants x {genotype_variants:,} variants "
                f"in {folder} (truth: {genotypes.truth_path(folder)}) ..."
            )
            genotypes.generate_genotypes(
                folder,
                ctx.settings.datasets_dir / DATASET[0] / DATASET[1],
                samples=genotype_samples,
                variants=genotype_variants,
            )
        datasets.register_dataset(
            ctx,
            GENOTYPES[0],
            GENOTYPES[1],
            folder,
            record=demo_record(
                "Simulated genotypes of a sample of the synthetic cohort, with a trait of known causal variants."
            ),
        )
        say(f"Registered dataset {GENOTYPES[0]}@{GENOTYPES[1]}.")
    if not have_project:
        projects.create_project(ctx, PROJECT, title="Demo project on the synthetic cohort")
        say(f"Created project {PROJECT}.")
    with ctx.db.transaction() as session:
        project = session.execute(select(Project).where(Project.name == PROJECT)).scalar_one()
        approved = {a.dataset.label for a in active_approvals(session, project)}
    for dataset in wanted:
        if f"{dataset[0]}@{dataset[1]}" not in approved:
            datasets.approve_dataset(ctx, PROJECT, *dataset)

    _allow_packages(ctx, packages, say)

    created = {}
    for name, role in ACCOUNTS:
        if name in existing_users:
            continue
        account = people.add_user(ctx, name, [role])
        if role == "analyst":
            people.add_member(ctx, PROJECT, name)
        created[name] = account.initial_password
    if created:
        say("\nDemo accounts (initial passwords, shown only now):")
        for name, password in created.items():
            say(f"  {name:<10} {password}")
    else:
        say("Demo accounts exist already; reset a password with 'enclave user reset-password NAME'.")
    return created


def _allow_packages(ctx: OperatorContext, packages: tuple[str, ...], say) -> None:
    allowed = {f"{e.name}=={e.version}" for e in list_packages(ctx, project=PROJECT)}
    for requirement in packages:
        if requirement in allowed:
            continue
        try:
            entry = add_package(ctx, requirement, project=PROJECT)
        except EnclaveError as refusal:
            say(
                f"Could not allow {requirement} for the demo project ({refusal}). Allow it later with "
                f"'enclave packages add {requirement} --project {PROJECT}'."
            )
            continue
        say(f"Allowed {entry.name} {entry.version} for project {PROJECT}: 'pip install {entry.name}' in its workspace.")
