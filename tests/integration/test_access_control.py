"""Who may start and open which workspace."""


def test_roles_become_hub_groups(enclave):
    enclave.login("rita")  # hub users exist from their first login
    oscar = enclave.login("oscar")
    reply = oscar.api("GET", "/users/rita")
    assert reply.status_code == 200
    assert reply.json()["groups"] == ["reviewer"]
    # An operator can look, but cannot start or stop anyone's workspace through the hub.
    assert oscar.api("POST", "/users/alice/servers/alpha").status_code in (403, 404)  # 404: the hub hides it
    assert oscar.api("DELETE", "/users/carol/servers/alpha").status_code in (403, 404)
