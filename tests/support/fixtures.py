"""One real enclave shared by the integration and browser tests: a hub process, Docker, seeded state.

Everything a run creates carries its instance name (`enctest-...`) and is
removed by that label at the end. When a test fails, the hub's log and the
state of the run's containers are printed.
"""

from __future__ import annotations

import subprocess

import pytest

from enclave.egress.budgets import MIB
from enclave.images.catalog import image_tag
from enclave.operations import datasets, people, projects
from tests.support.enclave import build_enclave, cleanup_instance, seed, start_hub, stop_hub
from tests.support.hub import HubUser


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def built_image(docker_client, kind: str) -> str:
    """The current tag of an image kind, failing the test (never skipping) when it is not built."""
    tag = image_tag(kind)
    try:
        docker_client.images.get(tag)
    except Exception:  # noqa: BLE001
        pytest.fail(f"The {kind} image {tag} is not built: run 'make images' (make test does).", pytrace=False)
    return tag


@pytest.fixture(scope="session")
def workspace_image(docker_client):
    return built_image(docker_client, "workspace")


@pytest.fixture(scope="session")
def genomics_image(docker_client):
    return built_image(docker_client, "genomics")


@pytest.fixture(scope="session")
def r_image(docker_client):
    return built_image(docker_client, "r")


@pytest.fixture(scope="session")
def packages_image(docker_client):
    return built_image(docker_client, "packages")


@pytest.fixture(scope="session")
def enclave(docker_client, workspace_image, packages_image, tmp_path_factory):
    root = tmp_path_factory.mktemp("enclave")
    under_test = build_enclave(root)
    try:
        seed(under_test, root / "data")
        start_hub(under_test)
        yield under_test
    finally:
        stop_hub(under_test)
        cleanup_instance(under_test.settings.instance)


@pytest.fixture(autouse=True)
def _diagnostics_on_failure(request):
    yield
    reports = [getattr(request.node, f"rep_{when}", None) for when in ("setup", "call")]
    if not any(r is not None and r.failed for r in reports) or "enclave" not in request.fixturenames:
        return
    enclave = request.getfixturevalue("enclave")
    print("\n----- hub log (tail) -----\n" + enclave.log_tail())
    for container in enclave.containers():
        print(f"----- {container.name} ({container.status}) -----")
        print(container.logs(tail=40).decode(errors="replace"))
    print(subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout)


@pytest.fixture(scope="session")
def genotypes_v1(enclave):
    """genotypes@v1 registered in the shared enclave, simulated from its cohort (not approved for any
    project). Sized so a GWAS finds every causal variant at p < 5e-8; the truth is beside the folder
    (enclave.cohort.genotypes.truth_path(folder)). Returns the dataset folder."""
    from enclave.cohort import genotypes
    from enclave.operations import datasets

    data_root = enclave.settings.state_path.parent / "data"
    folder = data_root / "genotypes" / "v1"
    if not any(d.label == "genotypes@v1" for d in datasets.list_datasets(enclave.ctx)):
        genotypes.generate_genotypes(folder, data_root / "cohort" / "v1", samples=2_000, variants=5_000, seed=41)
        datasets.register_dataset(enclave.ctx, "genotypes", "v1", folder)
    return folder


@pytest.fixture
def metered_person(enclave):
    """Make a person with a running workspace in a project of their own whose budget is 1 MiB
    (with the datasets named in `approved`, e.g. [("cohort", "v1")], approved for it)."""
    made = []

    def make(person: str, project: str, approved: list[tuple[str, str]] = ()) -> HubUser:
        ctx = enclave.ctx
        projects.create_project(ctx, project)
        projects.set_egress_budget(ctx, project, MIB)
        for dataset, version in approved:
            datasets.approve_dataset(ctx, project, dataset, version)
        enclave.passwords[person] = people.add_user(ctx, person, ["analyst"]).initial_password
        people.add_member(ctx, project, person)
        user = enclave.login(person)
        reply = user.start(project)
        assert reply.status_code in (201, 202), reply.text
        made.append((person, project))
        return user

    yield make
    for person, project in made:
        enclave.ctx.workspaces.stop(project, person)
