"""Bulk extraction through the browser is metered at the edge, cut at the budget, and stops and suspends.

Each attempt has a person and a project of its own with a 1 MiB daily budget
(so the shared workspaces are never suspended) and goes through the real edge,
the real hub and a real workspace: a kernel printing, a terminal `cat`-ing a
file. Polling below waits for the edge's own flush and enforcement (which run
in the edge process); nothing asserts on how long they take.
"""

from __future__ import annotations

import json
import re
import time

import requests
import websocket

from enclave.egress.budgets import MIB
from enclave.state.audit_query import AuditFilter, as_record, find_events
from enclave.state.models import AccountStatus, EgressUsage
from enclave.state.queries import get_user
from harness.kernel import execute_request
from tests.support.hub import HubUser

WS_POLICY_VIOLATION = 1008


def audited(enclave, action: str, target: str) -> list[dict]:
    with enclave.ctx.db.reading() as session:
        return [
            r
            for r in (as_record(e) for e in find_events(session, AuditFilter(action=action)))
            if r["action"] == action and r["target"] == target
        ]


def usage(enclave, user: str, project: str) -> dict[str, int]:
    with enclave.ctx.db.reading() as session:
        rows = session.query(EgressUsage).filter(EgressUsage.user == user, EgressUsage.project == project)
        return {row.channel: row.bytes for row in rows}


def raw_usage(enclave, user: str, project: str) -> dict[str, int]:
    """Bytes as sent on the wire, per channel (`usage` is the information counted)."""
    with enclave.ctx.db.reading() as session:
        rows = session.query(EgressUsage).filter(EgressUsage.user == user, EgressUsage.project == project)
        return {row.channel: row.raw_bytes for row in rows}


def eventually(check, what: str, timeout: float = 120):
    """Poll `check` until it returns something truthy; fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen")


def suspended(enclave, name: str) -> bool:
    with enclave.ctx.db.reading() as session:
        return get_user(session, name).status is AccountStatus.SUSPENDED


def websocket_to(user: HubUser, project: str, path: str, token: str) -> websocket.WebSocket:
    url = user.server_url(project).replace("https://", "wss://", 1).replace("http://", "ws://", 1) + path
    return websocket.create_connection(url, header=[f"Authorization: token {token}"], timeout=120)


def drain(ws: websocket.WebSocket) -> tuple[int, int | None]:
    """Read until the edge closes the socket: bytes received and the close code."""
    received = 0
    while True:
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return received, None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return received, int.from_bytes(data[:2], "big") if len(data) >= 2 else None
        if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
            received += len(data)


def assert_cut_stopped_and_suspended(enclave, user: HubUser, project: str, token: str) -> None:
    name = user.name
    eventually(lambda: suspended(enclave, name), f"the suspension of {name}")
    eventually(
        lambda: (
            not [c for c in enclave.containers(kind="workspace", project=project, user=name) if c.status == "running"]
        ),
        f"the stop of {name}'s {project} workspace",
    )
    (exceeded,) = audited(enclave, "metering.exceeded", f"{project}/{name}")
    assert exceeded["details"]["budget"] == MIB
    (alert,) = audited(enclave, "metering.alert", f"{project}/{name}")
    (suspension,) = audited(enclave, "person.suspended", name)
    assert suspension["details"]["reason"] == "metering budget exceeded"
    assert alert["seq"] < exceeded["seq"] < suspension["seq"]
    # The edge refuses further data at once; the hub refuses a new login.
    again = requests.get(
        f"{user.server_url(project)}/api/contents", headers={"Authorization": f"token {token}"}, timeout=30
    )
    assert again.status_code == 429, again.text
    assert not HubUser(enclave.url, name, enclave.passwords[name]).logged_in


def test_printing_past_the_budget_from_a_kernel_is_cut_and_stops_and_suspends(enclave, metered_person):
    """RT-120: print 4 MiB from a kernel to the browser against a 1 MiB budget."""
    user = metered_person("kim", "mkernel")
    token = user.token()
    kernel = requests.post(
        f"{user.server_url('mkernel')}/api/kernels",
        headers={"Authorization": f"token {token}"},
        json={"name": "python3"},
        timeout=60,
    )
    kernel.raise_for_status()
    ws = websocket_to(user, "mkernel", f"/api/kernels/{kernel.json()['id']}/channels", token)
    # Random bytes in base64: information the meter cannot compress away (repeated 'x's it would).
    stream = (
        "import base64, os\nfor _ in range(40):\n    print(base64.b64encode(os.urandom(75_000)).decode(), flush=True)"
    )
    ws.send(execute_request(stream, username="kim")[1])
    received, code = drain(ws)
    assert code == WS_POLICY_VIOLATION
    # The stream ran until the budget (counted as information: 3/4 of base64's characters) and was cut.
    assert MIB // 2 < received < 2 * MIB
    assert_cut_stopped_and_suspended(enclave, user, "mkernel", token)
    assert usage(enclave, "kim", "mkernel").get("kernel", 0) >= MIB // 2
    assert raw_usage(enclave, "kim", "mkernel")["kernel"] >= received


def test_catting_a_file_past_the_budget_in_a_terminal_is_cut_and_stops_and_suspends(enclave, metered_person):
    """RT-121: `cat` a 3 MB file in a terminal against a 1 MiB budget."""
    user = metered_person("tom", "mterm")
    token = user.token()
    terminal = requests.post(
        f"{user.server_url('mterm')}/api/terminals", headers={"Authorization": f"token {token}"}, timeout=60
    )
    terminal.raise_for_status()
    ws = websocket_to(user, "mterm", f"/terminals/websocket/{terminal.json()['name']}", token)
    ws.send(json.dumps(["stdin", "head -c 2250000 /dev/urandom | base64 > ~/big.txt && cat ~/big.txt\r"]))
    received, code = drain(ws)
    assert code == WS_POLICY_VIOLATION
    assert received < 2 * MIB  # 3 MB asked for: cut once about 1 MiB of information was counted
    assert_cut_stopped_and_suspended(enclave, user, "mterm", token)
    assert usage(enclave, "tom", "mterm").get("terminal", 0) >= MIB // 2


def test_static_assets_come_from_the_edge_uncounted_and_everything_else_is_counted(enclave, metered_person):
    """Static assets are the edge's own copy of the image (never the workspace's): not counted. The lab page
    and the contents read around them come from the workspace: counted, heads included."""
    user = metered_person("sam", "mstatic")
    headers = {"Authorization": f"token {user.token()}", "Accept-Encoding": "identity"}
    base = user.server_url("mstatic")
    lab = requests.get(f"{base}/lab", headers=headers, timeout=60)
    assert lab.status_code == 200 and "<script" in lab.text
    scripts = re.findall(r'src="([^"]+/static/[^"]+\.js[^"]*)"', lab.text)
    assert scripts, "the lab page names its static scripts"
    origin = re.match(r"https?://[^/]+", base).group(0)
    assets = [requests.get(origin + script, headers=headers, timeout=60) for script in scripts]
    assert all(a.status_code == 200 and a.headers["X-Enclave-Edge"] == "static" for a in assets)
    static_bytes = sum(len(a.content) for a in assets)
    assert static_bytes > 100_000  # JupyterLab's bundle: far more than any head
    listing = requests.get(f"{base}/api/contents", headers=headers, timeout=60)
    assert listing.status_code == 200
    raw = eventually(
        lambda: (lambda r: r if {"page", "contents"} <= set(r) else None)(raw_usage(enclave, "sam", "mstatic")),
        "the page and the contents read reaching the ledger",
        60,
    )
    assert set(raw) == {"page", "contents"}
    assert len(lab.content) < raw["page"] < len(lab.content) + static_bytes  # the page and its head, no asset
    assert raw["contents"] > len(listing.content)
