"""Packages without egress, in real workspaces through the hub: an operator allows a package (a wheel this
test writes, given with --from), the analyst's `%pip install` in a real kernel installs it from the project's
index into the analyst's environment in the home folder, the running kernel imports it and pip uninstalls it;
a package not allowed fails with how to ask for it; one project's allowlist is not another's, the installation's
is everyone's; the Jupyter server's own environment is unchanged."""

from __future__ import annotations

import contextlib
import json
import time

import pytest
import requests
import websocket

from enclave.errors import NotFound
from enclave.packages import add_package, remove_package
from tests.support.wheels import make_wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheels")
    make_wheel(folder, "enclave-tiny", "1.0", requires=("enclave-tiny-dep",), code="import enclave_tiny_dep\nOK = 42\n")
    make_wheel(folder, "enclave-tiny-dep", "0.3")
    make_wheel(folder, "enclave-everywhere", "2.0")
    return folder


def _pip(workspace, line: str):
    return workspace.kernel.execute(f"%pip install {line}", timeout=180)


def _uninstall(workspace, *names: str) -> None:
    workspace.kernel.execute(f"%pip uninstall -y {' '.join(names)}", timeout=120)


def test_an_allowed_package_installs_into_the_home_and_imports_in_the_running_kernel(enclave, alice_alpha, wheels):
    add_package(enclave.ctx, "enclave-tiny", project="alpha", wheels_from=wheels)
    try:
        outcome = _pip(alice_alpha, "enclave-tiny")
        assert "Successfully installed enclave-tiny-1.0 enclave-tiny-dep-0.3" in outcome.stdout, outcome
        where = alice_alpha.run("import enclave_tiny, sys\nprint(enclave_tiny.OK, enclave_tiny.__file__, sys.prefix)")
        home_env = "/home/analyst/.local/venv"
        assert where.split() == ["42", f"{home_env}/lib/python3.11/site-packages/enclave_tiny/__init__.py", home_env]
        # The server keeps its environment: the image's venv (read-only), which never sees the analyst's.
        server = alice_alpha.run("import os\nprint(open(f'/proc/{os.getppid()}/cmdline').read().split(chr(0))[0])")
        assert server.strip().startswith("/opt/venv/bin/python"), server
        image_copy = "/opt/venv/lib/python3.11/site-packages/enclave_tiny"
        assert alice_alpha.run(f"import os\nprint(os.path.exists({image_copy!r}))").strip() == "False"
        # pip can take it out again (it could not, from a user site inside the image's venv).
        gone = alice_alpha.kernel.execute("%pip uninstall -y enclave-tiny-dep", timeout=120)
        assert "Successfully uninstalled enclave-tiny-dep-0.3" in gone.stdout, gone
    finally:
        _uninstall(alice_alpha, "enclave-tiny", "enclave-tiny-dep")
        remove_package(enclave.ctx, "enclave-tiny", project="alpha")


def test_a_package_not_allowed_fails_with_how_to_ask_for_it(alice_alpha):
    outcome = _pip(alice_alpha, "enclave-not-allowed")
    said = outcome.stdout + outcome.stderr
    assert "enclave-not-allowed is not allowed in project alpha" in said, said
    assert "ask an operator to run: enclave packages add enclave-not-allowed --project alpha" in said
    assert "No matching distribution found for enclave-not-allowed" in said


def test_a_project_allowlist_is_the_projects_and_the_installations_is_everyones(enclave, alice_alpha, bob_beta, wheels):
    add_package(enclave.ctx, "enclave-tiny", project="alpha", wheels_from=wheels)
    add_package(enclave.ctx, "enclave-everywhere", wheels_from=wheels)
    try:
        refused = _pip(bob_beta, "enclave-tiny")
        assert "enclave packages add enclave-tiny --project beta" in refused.stdout + refused.stderr
        for workspace in (alice_alpha, bob_beta):
            outcome = _pip(workspace, "enclave-everywhere")
            assert "Successfully installed enclave-everywhere-2.0" in outcome.stdout, outcome
        # Withdrawn from the allowlist, it can no longer be installed (an installed copy stays the analyst's).
        remove_package(enclave.ctx, "enclave-everywhere")
        _uninstall(bob_beta, "enclave-everywhere")
        again = _pip(bob_beta, "enclave-everywhere")
        assert "enclave packages add enclave-everywhere --project beta" in again.stdout + again.stderr
    finally:
        _uninstall(alice_alpha, "enclave-everywhere")
        _uninstall(bob_beta, "enclave-everywhere")
        remove_package(enclave.ctx, "enclave-tiny", project="alpha")
        with contextlib.suppress(NotFound):
            remove_package(enclave.ctx, "enclave-everywhere")


def _in_a_terminal(workspace, command: str, until: str) -> str:
    """Type a command into a new terminal of the workspace (JupyterLab's terminal API); its output up to `until`."""
    user, headers = workspace.user, {"Authorization": f"token {workspace.token}"}
    base = user.server_url(workspace.project)
    terminal = requests.post(f"{base}/api/terminals", headers=headers, timeout=60)
    terminal.raise_for_status()
    name = terminal.json()["name"]
    url = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + f"/terminals/websocket/{name}"
    ws = websocket.create_connection(url, header=[f"Authorization: token {workspace.token}"], timeout=30)
    output = ""
    try:
        ws.send(json.dumps(["stdin", command + "\r"]))
        deadline = time.monotonic() + 180
        while until not in output and time.monotonic() < deadline:
            kind, *data = json.loads(ws.recv())
            if kind == "stdout":
                output += data[0]
    finally:
        ws.close()
        requests.delete(f"{base}/api/terminals/{name}", headers=headers, timeout=60)
    return output


def test_pip_in_a_terminal_installs_where_the_kernels_import_from(enclave, alice_alpha, wheels):
    add_package(enclave.ctx, "enclave-everywhere", project="alpha", wheels_from=wheels)
    try:
        said = _in_a_terminal(
            alice_alpha,
            "pip install -q enclave-everywhere && "
            "python -c 'import enclave_everywhere as m; print(\"FROM-\" + m.VERSION)'",
            until="FROM-2.0",
        )
        assert "FROM-2.0" in said, said
        where = alice_alpha.run("import enclave_everywhere\nprint(enclave_everywhere.__file__)").strip()
        assert where == "/home/analyst/.local/venv/lib/python3.11/site-packages/enclave_everywhere/__init__.py"
    finally:
        _uninstall(alice_alpha, "enclave-everywhere")
        remove_package(enclave.ctx, "enclave-everywhere", project="alpha")


def test_teardown_removes_the_index_and_its_firewall_rules(docker_client, packages_image, tmp_path):
    """A project's index, started as a spawn starts it, on an installation of this test's own; teardown
    (remove_instance, as `enclave teardown` and every test installation's clean-up) leaves neither the
    container nor a rule tagged for its bridge."""
    import secrets
    import subprocess

    from enclave.isolation.network import ensure_project_network, remove_instance
    from enclave.packages.index import ensure_index
    from enclave.settings import EnclaveSettings

    settings = EnclaveSettings(state_dir=str(tmp_path / "state"), instance=f"enctest-{secrets.token_hex(3)}")
    settings.prepare_state_dir()

    def tagged_rules(bridge: str) -> list[str]:
        rules = []
        for chain in ("ENCLAVE-INPUT", "ENCLAVE-FORWARD"):
            listing = subprocess.run(["iptables", "-S", chain], capture_output=True, text=True).stdout
            rules += [rule for rule in listing.splitlines() if f"enclave-packages:{bridge}" in rule]
        return rules

    try:
        network = ensure_project_network(docker_client, settings.instance, "gamma")
        address = ensure_index(docker_client, settings, "gamma", network)
        ensure_index(docker_client, settings, "gamma", network)  # a second spawn finds it, adds nothing
        assert len(tagged_rules(network.bridge)) == 3 and all(
            f"{address}/32" in r for r in tagged_rules(network.bridge)
        )
        (index,) = docker_client.containers.list(filters={"label": f"enclave.instance={settings.instance}"})
        assert index.status == "running"
    finally:
        remove_instance(docker_client, settings.instance)
    assert docker_client.containers.list(all=True, filters={"label": f"enclave.instance={settings.instance}"}) == []
    assert tagged_rules(network.bridge) == []


def test_a_dozen_first_spawns_at_once_start_one_index_and_all_find_it(docker_client, packages_image, tmp_path):
    """A project's analysts starting together before its index exists (the load benchmark's 403s): every
    spawn gets the one index's address, none is refused, one container runs."""
    import secrets
    from concurrent.futures import ThreadPoolExecutor

    from enclave.isolation.network import ensure_project_network, remove_instance
    from enclave.packages.index import ensure_index
    from enclave.settings import EnclaveSettings

    settings = EnclaveSettings(state_dir=str(tmp_path / "state"), instance=f"enctest-{secrets.token_hex(3)}")
    settings.prepare_state_dir()
    try:
        network = ensure_project_network(docker_client, settings.instance, "gamma")
        with ThreadPoolExecutor(12) as spawns:
            addresses = list(spawns.map(lambda _: ensure_index(docker_client, settings, "gamma", network), range(12)))
        assert len(set(addresses)) == 1
        (index,) = docker_client.containers.list(all=True, filters={"label": f"enclave.instance={settings.instance}"})
        assert index.status == "running"
    finally:
        remove_instance(docker_client, settings.instance)
