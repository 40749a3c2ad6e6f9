"""Reaching other people's workspaces: another project's, a colleague's in the same project.

By network from inside alice's workspace (by IP and by the container's DNS name), and through the hub
with one's own login. A connection to another workspace is dropped: by Docker's isolation rules for
internal networks when it is on another project's network, by ICC off when it is on the same one (both
read TIMEOUT; see probes.py).
"""

import time

import pytest

from tests.integration.security.probes import connect, require_mitigation, resolve
from tests.support.audit_log import assert_audited

SERVER_PORT = 8888  # the Jupyter server in every workspace


def test_another_projects_workspace_by_ip_is_unreachable(alice_alpha, bob_beta):
    """RT-10: connect from alice's alpha workspace to bob's beta workspace by its IP."""
    verdicts = connect(alice_alpha, [(bob_beta.ip, SERVER_PORT)])
    assert verdicts[(bob_beta.ip, SERVER_PORT)] in ("TIMEOUT", "ENETUNREACH")  # dropped leaving alpha's bridge
    assert bob_beta.run("print('still serving')").strip() == "still serving"  # the target was up


def test_another_projects_workspace_by_name_does_not_resolve(alice_alpha, bob_beta):
    """RT-11: look up bob's beta workspace by its container name and by its hostname from alice's workspace."""
    require_mitigation(alice_alpha.container)
    names = [bob_beta.container.name, "beta-workspace"]
    verdicts = resolve(alice_alpha, names)
    # The embedded resolver knows only names on alpha's network; anything else goes to the dead upstream.
    assert set(verdicts.values()) <= {"EAI_AGAIN", "EAI_NONAME"}, verdicts


def test_a_colleagues_workspace_in_the_same_project_by_ip_is_unreachable(alice_alpha, carol_alpha):
    """RT-12: connect from alice's alpha workspace to carol's alpha workspace by its IP."""
    verdicts = connect(alice_alpha, [(carol_alpha.ip, SERVER_PORT)])
    assert verdicts[(carol_alpha.ip, SERVER_PORT)] == "TIMEOUT"  # same network, ICC off: dropped
    assert carol_alpha.run("print('still serving')").strip() == "still serving"


def test_a_colleagues_workspace_in_the_same_project_by_name_is_unreachable(alice_alpha, carol_alpha):
    """RT-13: connect to carol's alpha workspace by its container name (which the network's resolver knows)."""
    require_mitigation(alice_alpha.container)
    name = carol_alpha.container.name
    # The name resolves on the shared network (the engine may take a moment after carol's start) ...
    for _ in range(10):
        address = resolve(alice_alpha, [name])[name]
        if address == carol_alpha.ip:
            break
        time.sleep(1)
    assert address == carol_alpha.ip
    verdicts = connect(alice_alpha, [(name, SERVER_PORT)])
    assert verdicts[(name, SERVER_PORT)] == "TIMEOUT"  # ... and the connection is still dropped


def test_starting_a_workspace_in_a_project_one_is_not_in_is_refused_and_audited(enclave):
    """RT-14: alice asks the hub for a workspace in project beta, which she is not a member of."""
    alice = enclave.login("alice")
    reply = alice.api("POST", "/users/alice/servers/beta")
    assert reply.status_code == 403
    assert "not a member" in reply.json()["message"]
    assert enclave.containers(kind="workspace", project="beta", user="alice") == []
    assert_audited(enclave, "workspace.start", actor="alice", target="beta/alice", outcome="refused")


def test_starting_a_workspace_in_an_unknown_project_is_refused_and_audited(enclave):
    """RT-15: alice asks the hub for a workspace in a project that does not exist."""
    alice = enclave.login("alice")
    reply = alice.api("POST", "/users/alice/servers/no-such-project")
    assert reply.status_code == 403
    assert enclave.containers(kind="workspace", project="no-such-project") == []
    assert_audited(enclave, "workspace.start", actor="alice", target="no-such-project/alice", outcome="refused")


@pytest.mark.parametrize("intruder", ["rita", "oscar", "carol"])
def test_nobody_else_can_open_an_analysts_workspace(enclave, alice_alpha, intruder):
    """RT-16: a reviewer, an operator and a colleague open alice's workspace with their own hub login."""
    other = enclave.login(intruder)
    # Through the browser route, with the intruder's own hub login ...
    reply = other.http.get(f"{alice_alpha.user.server_url('alpha')}/api/contents", allow_redirects=True, timeout=30)
    assert reply.status_code == 403 or "api/contents" not in reply.url
    # ... and with a token the intruder mints for itself.
    token = other.token()
    reply = other.http.get(
        f"{alice_alpha.user.server_url('alpha')}/api/kernels", headers={"Authorization": f"token {token}"}, timeout=30
    )
    assert reply.status_code == 403
    # The owner's own token works: the route is right.
    reply = alice_alpha.user.http.get(
        f"{alice_alpha.user.server_url('alpha')}/api/kernels",
        headers={"Authorization": f"token {alice_alpha.token}"},
        timeout=30,
    )
    assert reply.status_code == 200
