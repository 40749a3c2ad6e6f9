"""Who may start and open which workspace."""

import pytest

pytestmark = pytest.mark.integration


def test_spawning_for_a_project_one_is_not_in_is_refused(enclave):
    alice = enclave.login("alice")
    reply = alice.api("POST", "/users/alice/servers/beta")
    assert reply.status_code == 403
    assert "not a member" in reply.json()["message"]
    assert enclave.containers(kind="workspace", project="beta", user="alice") == []


def test_spawning_for_an_unknown_project_is_refused(enclave):
    alice = enclave.login("alice")
    reply = alice.api("POST", "/users/alice/servers/no-such-project")
    assert reply.status_code == 403


def test_users_cannot_choose_the_image(enclave, workspace_image):
    dave = enclave.login("dave")
    reply = dave.start("gamma", options={"image": "enclave-base:anything"})
    assert reply.status_code in (201, 202)
    (container,) = enclave.containers(kind="workspace", project="gamma", user="dave")
    assert container.attrs["Config"]["Image"] == workspace_image
    dave.stop("gamma")


@pytest.mark.parametrize("intruder", ["rita", "oscar", "carol"])
def test_nobody_else_can_open_an_analysts_workspace(enclave, alice_alpha, intruder):
    other = enclave.login(intruder)
    # Through the browser route, with the intruder's own hub login ...
    reply = other.http.get(f"{alice_alpha.user.server_url('alpha')}/api/contents", allow_redirects=True, timeout=30)
    assert reply.status_code == 403 or "api/contents" not in reply.url
    # ... and with a token the intruder mints for itself.
    token = other.token()
    reply = other.http.get(f"{alice_alpha.user.server_url('alpha')}/api/kernels",
                           headers={"Authorization": f"token {token}"}, timeout=30)
    assert reply.status_code == 403
    # The owner's own token works: the route is right.
    reply = alice_alpha.user.http.get(f"{alice_alpha.user.server_url('alpha')}/api/kernels",
                                      headers={"Authorization": f"token {alice_alpha.token}"}, timeout=30)
    assert reply.status_code == 200


def test_roles_become_hub_groups(enclave):
    enclave.login("rita")  # hub users exist from their first login
    oscar = enclave.login("oscar")
    reply = oscar.api("GET", "/users/rita")
    assert reply.status_code == 200
    assert reply.json()["groups"] == ["reviewer"]
    # An operator can look, but cannot start or stop anyone's workspace through the hub.
    assert oscar.api("POST", "/users/alice/servers/alpha").status_code in (403, 404)  # 404: the hub hides it
    assert oscar.api("DELETE", "/users/carol/servers/alpha").status_code in (403, 404)
