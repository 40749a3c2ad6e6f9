"""The package allowlist: requirements, fetching from a folder of wheels (pip, offline), recorded hashes,
published folders per scope, removal, and every change and refusal audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from enclave.errors import AlreadyExists, EnclaveError, InvalidInput, NotFound
from enclave.operations.projects import create_project
from enclave.packages import add_package, list_packages, parse_requirement, remove_package
from enclave.packages.allowlist import verify_published
from enclave.packages.fetch import FetchFailed, fetch, sha256_of
from enclave.packages.folders import PackageIntegrityError, scope_folder
from enclave.state.models import AuditEvent
from tests.support.wheels import make_wheel


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    make_wheel(folder, "enclave-tiny", "1.0", requires=("enclave-dep>=1",))
    make_wheel(folder, "enclave-tiny", "2.0")
    make_wheel(folder, "enclave-dep", "1.5")
    return folder


@pytest.fixture
def alpha(ctx):
    create_project(ctx, "alpha")
    create_project(ctx, "beta")
    return "alpha"


def _audit(ctx, action):
    with ctx.db.reading() as session:
        rows = session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars()
        return [(e.target, e.outcome, e.details) for e in rows]


@pytest.mark.parametrize("text", ["tabulate", "Tabulate_Extra.x", "tabulate==0.9.0", " polars==2.1.0 "])
def test_names_and_pinned_versions_are_accepted(text):
    requirement = parse_requirement(text)
    assert requirement.name == requirement.name.lower() and "_" not in requirement.name


@pytest.mark.parametrize(
    "text", ["", "tabulate>=1", "tabulate[extra]", "https://example.invalid/x.whl", "--index-url=x", "a b", "../x"]
)
def test_anything_but_a_name_or_one_pinned_version_is_refused(text):
    with pytest.raises(InvalidInput, match="NAME==VERSION"):
        parse_requirement(text)


def test_fetch_takes_the_package_and_its_dependencies_from_a_folder(wheels, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    files = fetch(parse_requirement("enclave-tiny==1.0"), dest, wheels)
    assert sorted(f.filename for f in files) == [
        "enclave_dep-1.5-py3-none-any.whl",
        "enclave_tiny-1.0-py3-none-any.whl",
    ]
    assert all(f.sha256 == sha256_of(wheels / f.filename) for f in files)


def test_a_name_pip_cannot_find_is_refused_with_advice(wheels, tmp_path):
    with pytest.raises(NotFound, match="pip found no wheel of no-such-package.*Check the name"):
        fetch(parse_requirement("no-such-package"), tmp_path, wheels)


def test_an_unreachable_index_says_to_use_a_folder_of_wheels(tmp_path, monkeypatch):
    # A closed port on loopback stands in for a host with no network.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    with pytest.raises(FetchFailed, match="cannot reach its package index.*--from DIR"):
        fetch(parse_requirement("enclave-tiny"), tmp_path, None)


def test_add_records_hashes_publishes_for_the_project_and_audits(ctx, alpha, wheels):
    entry = add_package(ctx, "enclave-tiny==1.0", project=alpha, wheels_from=wheels)
    assert (entry.scope, entry.name, entry.version) == ("alpha", "enclave-tiny", "1.0")
    folder = scope_folder(ctx.settings, alpha)
    published = {p.name: sha256_of(p) for p in folder.iterdir()}
    assert published == {name: sha for name, sha, _ in entry.files}
    assert folder.stat().st_mode & 0o777 == 0o755 and all(p.stat().st_mode & 0o777 == 0o644 for p in folder.iterdir())
    assert not scope_folder(ctx.settings, "beta").exists() or not any(scope_folder(ctx.settings, "beta").iterdir())
    ((target, outcome, details),) = _audit(ctx, "packages.add")
    assert (target, outcome, details["version"]) == ("alpha:enclave-tiny", "ok", "1.0")
    assert {f["file"]: f["sha256"] for f in details["files"]} == published
    assert verify_published(ctx) == []


def test_without_a_project_a_package_is_allowed_for_every_project(ctx, alpha, wheels):
    add_package(ctx, "enclave-dep", wheels_from=wheels)
    add_package(ctx, "enclave-tiny==2.0", project="beta", wheels_from=wheels)
    assert [(e.scope, e.name) for e in list_packages(ctx, project=alpha)] == [("all", "enclave-dep")]
    assert [(e.scope, e.name) for e in list_packages(ctx, project="beta")] == [
        ("all", "enclave-dep"),
        ("beta", "enclave-tiny"),
    ]
    assert [p.name for p in scope_folder(ctx.settings, None).iterdir()] == ["enclave_dep-1.5-py3-none-any.whl"]


def test_a_file_whose_bytes_changed_is_refused_and_nothing_changes(ctx, alpha, wheels, tmp_path):
    add_package(ctx, "enclave-dep", project=alpha, wheels_from=wheels)
    # The same file name with other bytes (a re-published wheel, a changed mirror).
    make_wheel(wheels, "enclave-dep", "1.5", code="STOLEN = True\n")
    with pytest.raises(PackageIntegrityError, match="enclave_dep-1.5-py3-none-any.whl.*other bytes"):
        add_package(ctx, "enclave-tiny==1.0", project="beta", wheels_from=wheels)
    assert [e.name for e in list_packages(ctx, project="beta")] == []
    assert not scope_folder(ctx.settings, "beta").exists() or not any(scope_folder(ctx.settings, "beta").iterdir())
    assert [(t, o) for t, o, _ in _audit(ctx, "packages.add")] == [
        ("alpha:enclave-dep", "ok"),
        ("beta:enclave-tiny", "refused"),
    ]


def test_a_published_file_changed_on_disk_is_found_by_verify(ctx, alpha, wheels):
    entry = add_package(ctx, "enclave-dep", project=alpha, wheels_from=wheels)
    (scope_folder(ctx.settings, alpha) / entry.files[0][0]).write_bytes(b"tampered")
    (scope_folder(ctx.settings, alpha) / "extra-1.0-py3-none-any.whl").write_bytes(b"unrecorded")
    assert {(p.filename, p.problem) for p in verify_published(ctx)} == {
        (entry.files[0][0], "changed"),
        ("extra-1.0-py3-none-any.whl", "not recorded"),
    }


def test_remove_keeps_files_another_entry_of_the_scope_needs(ctx, alpha, wheels):
    add_package(ctx, "enclave-tiny==1.0", project=alpha, wheels_from=wheels)
    add_package(ctx, "enclave-dep", project=alpha, wheels_from=wheels)
    removed = remove_package(ctx, "enclave-tiny", project=alpha)
    assert [(e.name, e.version) for e in removed] == [("enclave-tiny", "1.0")]
    assert [p.name for p in scope_folder(ctx.settings, alpha).iterdir()] == ["enclave_dep-1.5-py3-none-any.whl"]
    remove_package(ctx, "enclave-dep==1.5", project=alpha)
    assert list(scope_folder(ctx.settings, alpha).iterdir()) == []
    assert [(t, o) for t, o, _ in _audit(ctx, "packages.remove")] == [
        ("alpha:enclave-tiny", "ok"),
        ("alpha:enclave-dep", "ok"),
    ]


@pytest.mark.parametrize(
    "attempt, error, advice",
    [
        (
            lambda ctx, w: add_package(ctx, "enclave-tiny", project="nope", wheels_from=w),
            NotFound,
            "enclave project list",
        ),
        (lambda ctx, w: add_package(ctx, "enclave-tiny>=1", wheels_from=w), InvalidInput, "NAME==VERSION"),
        (lambda ctx, w: add_package(ctx, "enclave-tiny", wheels_from=w / "missing"), InvalidInput, "folder of wheels"),
        (lambda ctx, w: remove_package(ctx, "enclave-tiny", project="alpha"), NotFound, "enclave packages list"),
    ],
)
def test_bad_input_is_refused_with_advice_and_audited(ctx, alpha, wheels, attempt, error, advice):
    with pytest.raises(error, match=advice):
        attempt(ctx, wheels)
    events = _audit(ctx, "packages.add") + _audit(ctx, "packages.remove")
    assert [o for _, o, _ in events] == ["refused"]


def test_adding_the_same_version_twice_is_refused(ctx, alpha, wheels):
    add_package(ctx, "enclave-dep", project=alpha, wheels_from=wheels)
    with pytest.raises(AlreadyExists, match="already allowed"):
        add_package(ctx, "enclave-dep", project=alpha, wheels_from=wheels)


def test_refusals_are_enclave_errors_for_the_cli():
    assert issubclass(PackageIntegrityError, EnclaveError) and issubclass(FetchFailed, EnclaveError)


def _host_index_is(monkeypatch, **pip_env):
    """The host's pip configuration, as `pip download` reads it from the environment."""
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    for name, value in pip_env.items():
        monkeypatch.setenv(f"PIP_{name.upper()}", value)


def test_the_demo_allows_its_packages_for_the_demo_project_once(ctx, wheels, monkeypatch):
    from enclave.demo import PROJECT, _allow_packages

    create_project(ctx, PROJECT)
    _host_index_is(monkeypatch, no_index="1", find_links=str(wheels))  # the host's index: a folder, offline
    said = []
    _allow_packages(ctx, ("enclave-dep==1.5",), said.append)
    _allow_packages(ctx, ("enclave-dep==1.5",), said.append)  # idempotent, as `demo seed` is
    assert [(e.scope, e.name, e.version) for e in list_packages(ctx, project=PROJECT)] == [
        ("demo", "enclave-dep", "1.5")
    ]
    assert said == ["Allowed enclave-dep 1.5 for project demo: 'pip install enclave-dep' in its workspace."]


def test_a_demo_on_a_host_without_network_is_made_all_the_same_and_says_how_to_add_the_package(ctx, monkeypatch):
    from enclave.demo import PROJECT, _allow_packages

    create_project(ctx, PROJECT)
    _host_index_is(monkeypatch, index_url="http://127.0.0.1:9/simple/", find_links="", extra_index_url="")
    said = []
    _allow_packages(ctx, ("tabulate==0.9.0",), said.append)
    assert list_packages(ctx, project=PROJECT) == []
    (message,) = said
    assert "cannot reach its package index" in message
    assert message.endswith("Allow it later with 'enclave packages add tabulate==0.9.0 --project demo'.")


def test_the_index_container_is_confined_and_sees_only_its_scopes_read_only(settings):
    from enclave.confinement.container import DNS_NOWHERE
    from enclave.packages.index import INDEX_ALIAS, index_spec

    spec = index_spec(settings, "alpha", "unit-net-alpha")
    assert spec["user"] == "65534:65534" and spec["read_only"] is True and spec["cap_drop"] == ["ALL"]
    assert spec["privileged"] is False and "no-new-privileges:true" in spec["security_opt"]
    assert spec["dns"] == [DNS_NOWHERE] and "ports" not in spec and spec["mem_limit"] == spec["memswap_limit"]
    assert spec["pids_limit"] > 0 and spec["labels"]["enclave.kind"] == "package-index"
    assert spec["networking_config"]["unit-net-alpha"]["Aliases"] == [INDEX_ALIAS]
    assert {(m["Target"], m["Source"], m["ReadOnly"]) for m in spec["mounts"]} == {
        ("/packages/all", str(scope_folder(settings, None)), True),
        ("/packages/project", str(scope_folder(settings, "alpha")), True),
    }


def test_the_cli_adds_lists_verifies_and_removes_and_refuses_with_exit_3(tmp_path, monkeypatch, capsys, wheels):
    from enclave.cli.main import main

    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(tmp_path / "cli-state"))
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    assert main(["init"]) == 0 and main(["project", "create", "alpha"]) == 0
    capsys.readouterr()
    assert main(["packages", "add", "enclave-tiny==1.0", "--project", "alpha", "--from", str(wheels)]) == 0
    out = capsys.readouterr().out
    assert "Allowed enclave-tiny 1.0 for project alpha, with 2 file(s):" in out and "sha256 " in out
    assert main(["packages", "list", "--project", "alpha", "--files"]) == 0
    assert "enclave_dep-1.5-py3-none-any.whl" in capsys.readouterr().out
    assert main(["packages", "verify"]) == 0
    (tmp_path / "cli-state" / "packages" / "project-alpha" / "enclave_dep-1.5-py3-none-any.whl").write_bytes(b"x")
    assert main(["packages", "verify"]) == 1
    assert "project-alpha: enclave_dep-1.5-py3-none-any.whl: changed" in capsys.readouterr().out
    assert main(["packages", "add", "enclave-tiny", "--project", "ghost", "--from", str(wheels)]) == 3
    assert "enclave project list" in capsys.readouterr().err
    assert main(["packages", "remove", "enclave-tiny", "--project", "alpha"]) == 0
    assert "Removed enclave-tiny 1.0 from the allowlist of project alpha." in capsys.readouterr().out
