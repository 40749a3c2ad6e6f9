"""The hub gate, attacked from a real kernel: the hub's API beyond what a Jupyter server needs is refused.

Every call is made from alice's real workspace (code run in a real kernel,
through the hub's proxy) to the hub URL the workspace was given
($JUPYTERHUB_API_URL: the gate on the project gateway), with the workspace's
own token and with a full-scope token of alice's that the test creates through
the hub API as her browser would (what an analyst could type into a notebook).
A refusal must be the gate's (its marker header and reason), never the hub's
own 403, and be in the audit log as `hubgate.refused` naming alice and alpha.
The controls show that what the gate passes still answers.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.integration.security.probes import connect, gateway, host_addresses
from tests.support.audit_log import assert_audited

MARKER = "X-Enclave-Hubgate"
NOTE = "extract-" + "x" * 200_000  # what a kernel would store in a token note to read back in the browser


def call_code(calls: list[tuple[str, str, object]], token_expression: str) -> str:
    """Kernel code making each (method, path under /hub/api or absolute, body) call; one JSON line each."""
    return (
        "import json, os, urllib.request, urllib.error\n"
        "api = os.environ['JUPYTERHUB_API_URL']\n"
        "root = api[:api.index('/hub/api')]\n"
        f"token = {token_expression}\n"
        f"for method, path, body in {calls!r}:\n"
        "    url = (root + path) if path.startswith('/hub/') else (api + path)\n"
        "    data = None if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())\n"
        "    request = urllib.request.Request(url, data=data, method=method,\n"
        "        headers={'Authorization': 'token ' + token, 'Content-Type': 'application/json'})\n"
        "    try:\n"
        "        reply = urllib.request.urlopen(request, timeout=20)\n"
        "        status, headers, text = reply.status, reply.headers, reply.read().decode()\n"
        "    except urllib.error.HTTPError as e:\n"
        "        status, headers, text = e.code, e.headers, e.read().decode()\n"
        "    print(json.dumps({'method': method, 'path': path, 'status': status, 'gate': headers.get('"
        + MARKER
        + "'),\n"
        "                      'version': headers.get('X-JupyterHub-Version'), 'body': text[:400]}))\n"
    )


def call(workspace, calls, token: str | None = None) -> list[dict]:
    """Make the calls from the workspace's kernel, with `token` or the workspace's own hub token."""
    expression = repr(token) if token else "os.environ['JUPYTERHUB_API_TOKEN']"
    lines = workspace.run(call_code(calls, expression)).strip().splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def full_token(alice_alpha):
    """A token with every permission alice has, made on the hub as her browser would (no scopes: 'inherit')."""
    reply = alice_alpha.user.api(
        "POST", f"/users/{alice_alpha.user.name}/tokens", json={"note": "typed into a notebook", "expires_in": 3600}
    )
    reply.raise_for_status()
    return reply.json()["token"]


def beyond_what_a_server_needs(user: str, project: str) -> list[tuple[str, str, object]]:
    return [
        ("POST", f"/users/{user}/tokens", {"note": "stored-by-the-kernel", "expires_in": 600}),
        ("GET", f"/users/{user}/tokens", None),
        ("GET", "/users", None),
        ("GET", f"/users/{user}", None),
        ("PATCH", f"/users/{user}", {"name": user}),
        ("POST", f"/users/{user}/servers/stash-a-name-here", {"profile": "x" * 1000}),
        ("DELETE", f"/users/{user}/servers/{project}", None),
        ("GET", "/groups", None),
        ("POST", "/groups/analyst/users", {"users": [user]}),
        ("GET", "/services", None),
        ("GET", "/proxy", None),
        ("GET", "/info", None),
        ("POST", "/shutdown", {}),
        ("GET", "/hub/home", None),
        ("GET", "/hub/token", None),
    ]


def assert_refused_by_the_gate(results: list[dict], reason: str = "route-not-allowed") -> None:
    for result in results:
        assert result["status"] == 403, result
        assert result["gate"] == "refused", f"refused, but not by the gate: {result}"
        answer = json.loads(result["body"])
        assert answer["reason"] == reason, result
        assert answer["message"].startswith("Refused by the enclave's hub gate"), result


def test_a_token_note_written_with_a_full_user_token_is_refused_and_never_stored(alice_alpha, full_token, enclave):
    """RT-G01: from the kernel, store an extract in a token's note with a full user token, to read it back in
    the browser."""
    (result,) = call(
        alice_alpha,
        [("POST", f"/users/{alice_alpha.user.name}/tokens", {"note": NOTE[:4000], "expires_in": 600})],
        full_token,
    )
    assert_refused_by_the_gate([result])
    # A note carrying a whole extract: refused before the hub reads it (not even its length is passed).
    (result,) = call(alice_alpha, [("POST", f"/users/{alice_alpha.user.name}/tokens", {"note": NOTE})], full_token)
    assert result["status"] == 403 and result["gate"] == "refused", result
    # Nothing was stored: the browser's own view of alice's tokens has no such note.
    tokens = alice_alpha.user.api("GET", f"/users/{alice_alpha.user.name}/tokens")
    assert tokens.status_code == 200
    notes = [t.get("note") or "" for t in tokens.json()["api_tokens"]]
    assert notes and not any(n.startswith("extract-") for n in notes), notes
    assert_audited(
        enclave,
        "hubgate.refused",
        route=f"/hub/api/users/{alice_alpha.user.name}/tokens",
        method="POST",
        user="alice",
        project="alpha",
        reason="route-not-allowed",
    )


def test_the_hub_api_beyond_a_servers_needs_is_refused_with_the_workspaces_token(alice_alpha, enclave):
    """RT-G02: with the workspace's own hub token, call the hub API a server never needs (users, tokens,
    servers, groups, services, proxy, info, shutdown, hub pages)."""
    calls = beyond_what_a_server_needs(alice_alpha.user.name, alice_alpha.project)
    results = call(alice_alpha, calls)
    assert len(results) == len(calls)
    assert_refused_by_the_gate(results)
    # Each route is on record (a second method on the same route within a minute is folded into it).
    for _, path, _ in calls:
        route = path if path.startswith("/hub/") else f"/hub/api{path}"
        assert_audited(enclave, "hubgate.refused", route=route, user="alice", project="alpha", client=alice_alpha.ip)
    assert alice_alpha.user.server(alice_alpha.project)["ready"]  # the DELETE did not stop it


def test_the_hub_api_beyond_a_servers_needs_is_refused_with_a_full_user_token(alice_alpha, full_token):
    """RT-G03: the same calls with a full-scope token of alice's brought into the kernel."""
    calls = beyond_what_a_server_needs(alice_alpha.user.name, alice_alpha.project)
    results = call(alice_alpha, calls, full_token)
    assert len(results) == len(calls)
    assert_refused_by_the_gate(results)
    # Control: the same token does all this through the edge, as alice's browser (the gate is what refused).
    reply = alice_alpha.user.http.get(
        f"{alice_alpha.enclave.url}/hub/api/users/{alice_alpha.user.name}",
        headers={"Authorization": f"token {full_token}"},
        timeout=30,
    )
    assert reply.status_code == 200


def test_activity_for_another_user_is_refused(alice_alpha, full_token, enclave):
    """RT-G04: report activity for another person (carol) from alice's workspace, with alice's full token."""
    now = "2026-01-01T00:00:00.000000Z"
    (result,) = call(alice_alpha, [("POST", "/users/carol/activity", {"last_activity": now})], full_token)
    assert_refused_by_the_gate([result], reason="activity-not-own")
    assert_audited(
        enclave, "hubgate.refused", route="/hub/api/users/carol/activity", user="alice", reason="activity-not-own"
    )


def test_escapes_dot_dot_and_queries_do_not_walk_past_the_gate(alice_alpha, full_token):
    """RT-G05: reach a refused route from an allowed one with '..', an escaped '/', a double escape, a query."""
    calls = [
        ("GET", "/hub/api/user/../users", None),
        ("GET", "/hub/api/users%2falice", None),
        ("GET", "/hub/api/user/%252e%252e/users", None),
        ("GET", "/hub/api/%2e%2e/api/users", None),
    ]
    results = call(alice_alpha, calls, full_token)
    assert len(results) == len(calls)
    assert_refused_by_the_gate(results, reason="ambiguous-path")
    (result,) = call(alice_alpha, [("GET", "/hub/api/user?include_stopped_servers=1", None)], full_token)
    assert_refused_by_the_gate([result], reason="query-not-allowed")


def test_a_large_body_is_refused_even_on_an_allowed_route(alice_alpha):
    """RT-G06: send 100 KB to the OAuth token exchange (an allowed call) to store or smuggle it."""
    (result,) = call(alice_alpha, [("POST", "/oauth2/token", "code=" + "x" * 100_000)])
    assert_refused_by_the_gate([result], reason="body-too-large")


def test_the_hubs_own_api_port_is_unreachable_from_the_workspace(alice_alpha, enclave):
    """RT-G07: connect to the hub's own API port (behind the gate) on the gateway and every host address."""
    port = enclave.settings.hub_internal_port
    # The hub answers there on the host's loopback (so the port is live) ...
    assert (
        subprocess.run(
            ["python3", "-c", f"import socket; socket.create_connection(('127.0.0.1', {port}), 5)"], capture_output=True
        ).returncode
        == 0
    )
    # ... and the gate's port opens from the workspace (the probe works) ...
    gate = (gateway(alice_alpha), enclave.settings.hub_port)
    assert connect(alice_alpha, [gate]) == {gate: "OPEN"}
    # ... but the hub's own port is dropped from the workspace everywhere.
    targets = [(gateway(alice_alpha), port)] + [(a, port) for a in host_addresses()]
    verdicts = connect(alice_alpha, targets)
    assert set(verdicts.values()) == {"TIMEOUT"}, verdicts


def test_what_a_jupyter_server_needs_still_answers_through_the_gate(alice_alpha):
    """The control: version, identity, the OAuth exchange and the server's own activity reach the hub."""
    now = "2026-12-01T00:00:00.000000Z"
    activity = {"servers": {alice_alpha.project: {"last_activity": now}}, "last_activity": now}
    version, identity, exchange, own_activity = call(
        alice_alpha,
        [
            ("GET", "/hub/api", None),
            ("GET", "/user", None),
            ("POST", "/oauth2/token", "grant_type=authorization_code&code=not-a-code"),
            ("POST", f"/users/{alice_alpha.user.name}/activity", activity),
        ],
    )
    assert version["status"] == 200 and version["version"], version
    assert identity["status"] == 200 and json.loads(identity["body"])["name"] == alice_alpha.user.name
    # The hub itself judged the exchange (a bad code is the hub's 4xx, not the gate's refusal).
    assert exchange["gate"] is None and 400 <= exchange["status"] < 500 and exchange["status"] != 403, exchange
    assert own_activity["status"] == 200 and own_activity["gate"] is None, own_activity
