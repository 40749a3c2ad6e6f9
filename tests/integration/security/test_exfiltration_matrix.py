"""The exfiltration matrix (issue 9): for each channel, N bytes of real extract information go in from a
real workspace and a real logged-in session tries to take them out through the edge.

The invariant under test (docs/security.md, "The invariant"): every byte that reaches a browser is
untouched by the analyst, counted against the person who receives it, or refused. So each row ends in
one of two ways, and anything else fails it:

- refused: nothing of the payload reached the browser (the reason is reported), or
- served: the whole payload arrived (checked, so the row proves something) AND the ledger counted at
  least N bytes for that person on the row's channel between the moment the payload was in place and
  the moment it had been read. (Where caps may let only part through, that part must be counted.)
  The ledger counts information, not length, so N is N bytes of LZMA-compressed extract
  (tests/support/exfil.py), which no honest measure counts below N.

Each attempt is a generator: it puts the payload in (from the kernel, a file, the hub, the airlock),
yields the (person, project) whose ledger to watch, then takes the payload out as the browser would and
returns an Outcome. The harness waits for the edge's flush on both sides of the yield. Each attempt's
docstring starts with its id, which docs/security.md's matrix cites.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import sys
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass

import pytest
import requests

from enclave.egress.budgets import MIB
from enclave.egress.channels import HUB_PROJECT
from enclave.operations import datasets, people, projects
from tests.support.exfil import (
    KERNEL_PAYLOAD,
    EdgeBrowser,
    Outcome,
    b64,
    b64url,
    chunks,
    execute_request,
    idle,
    kernel_messages,
    make_payload,
    read_frames,
    settled,
    unb64url,
)
from tests.support.workspaces import Workspace

PROJECT = "exfil"
ANALYST = "mallory"
N = 64 * 1024  # bytes of extract information per row (the test cohort's extract holds about 80 KiB)
NAMES_N = 16 * 1024  # rows that carry the payload in file names, at most 255 bytes a request
NAME_CHUNK = 180  # payload bytes per file name: 240 characters of base64url, plus an index
AIRLOCK_NAME_CHUNK = 140  # names under the airlock's 200-character path cap (with ".csv")
BUDGET = 256 * MIB  # the matrix projects' daily budgets (per person and for all): observed, never cut
AIRLOCK = "/services/egress-review"
WS_POLICY_VIOLATION = 1008


@dataclass
class Matrix:
    """What every row uses: the analyst's workspace in a project, its kernel, and their browser at the edge."""

    enclave: object
    project: str
    workspace: Workspace
    browser: EdgeBrowser
    fixture: Callable[[str], object] | None = None  # the running test's request.getfixturevalue

    @property
    def analyst(self) -> tuple[str, str]:
        return ANALYST, self.project

    @property
    def base(self) -> str:
        return self.browser.workspace(self.project)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.browser.request("GET", f"{self.base}/{path}", **kwargs)

    def run(self, code: str) -> str:
        return self.workspace.run(code)


def analyst_workspace(enclave, project: str, image: str = "workspace") -> Matrix:
    """A project with the test cohort's extract and a budget far above N, and the analyst's running workspace."""
    ctx = enclave.ctx
    projects.create_project(ctx, project, image=image)
    projects.set_egress_budget(ctx, project, BUDGET, project_daily_bytes=BUDGET)
    datasets.approve_dataset(ctx, project, "cohort", "v1")
    if ANALYST not in enclave.passwords:
        enclave.passwords[ANALYST] = people.add_user(ctx, ANALYST, ["analyst"]).initial_password
    people.add_member(ctx, project, ANALYST)
    workspace = Workspace(enclave, ANALYST, project)
    return Matrix(enclave, project, workspace, EdgeBrowser(enclave, workspace.user, workspace.token))


def new_person(enclave, name: str, roles=("analyst",)) -> EdgeBrowser:
    enclave.passwords[name] = people.add_user(enclave.ctx, name, list(roles)).initial_password
    user = enclave.login(name)
    return EdgeBrowser(enclave, user, user.token())


@pytest.fixture(scope="module")
def matrix(enclave):
    made = analyst_workspace(enclave, PROJECT)
    yield made
    made.workspace.stop()


@pytest.fixture(scope="module")
def spark(enclave, genomics_image, matrix):
    """The analyst's workspace in a genomics project, whose image declares the spark-ui app (no cluster)."""
    made = analyst_workspace(enclave, "exfilspark", image="genomics")
    yield made
    made.workspace.stop()


@pytest.fixture(scope="module")
def reviewer(enclave, matrix):
    return new_person(enclave, "vera", roles=("reviewer",))


Attempt = Callable[..., Generator[tuple[str, str], None, Outcome]]


def payload_file(salt: str) -> str:
    return f"/home/analyst/.matrix/{salt}.bin"


# --- kernels -------------------------------------------------------------------------------------------


def kernel_output(m: Matrix, code: str) -> list[dict]:
    """Run `code` in the analyst's kernel, whose websocket goes through the edge; the messages answering it."""
    ws = m.workspace.kernel.ws
    msg_id, frame = execute_request(code)
    ws.send(frame)
    frames, _ = read_frames(ws, idle(msg_id))
    messages = kernel_messages(frames, msg_id)
    errors = [msg["content"] for msg in messages if msg["msg_type"] == "error"]
    assert not errors, f"the kernel raised {errors}"
    return messages


def attempt_kernel_stream(m: Matrix, salt: str, payload: bytes):
    """RT-X01: print the payload as base64 from a kernel; read it on the kernel websocket."""
    yield m.analyst
    messages = kernel_output(
        m, f"import base64; print(base64.b64encode(open({payload_file(salt)!r}, 'rb').read()).decode())"
    )
    text = "".join(msg["content"]["text"] for msg in messages if msg["msg_type"] == "stream")
    return Outcome(recovered=base64.b64decode(text.strip()))


def display(m: Matrix, salt: str, mimetype: str) -> bytes:
    messages = kernel_output(
        m,
        "import base64; from IPython.display import display\n"
        f"display({{{mimetype!r}: base64.b64encode(open({payload_file(salt)!r}, 'rb').read())"
        ".decode()}, raw=True)",
    )
    (data,) = [msg["content"]["data"] for msg in messages if msg["msg_type"] == "display_data"]
    return base64.b64decode(data[mimetype])


def attempt_display_png(m: Matrix, salt: str, payload: bytes):
    """RT-X02: display the payload as an image/png output; read the display_data on the kernel websocket."""
    yield m.analyst
    return Outcome(recovered=display(m, salt, "image/png"))


def attempt_display_custom_mimetype(m: Matrix, salt: str, payload: bytes):
    """RT-X03: display the payload under a mimetype of the analyst's own; read it on the kernel websocket."""
    yield m.analyst
    return Outcome(recovered=display(m, salt, "application/x-matrix"))


def attempt_comm_message(m: Matrix, salt: str, payload: bytes):
    """RT-X04: open a comm from the kernel and send the payload on it; read comm_msg on the kernel websocket."""
    yield m.analyst
    messages = kernel_output(
        m,
        "import base64; from ipykernel.comm import Comm\n"
        "_c = Comm(target_name='matrix', data={})\n"
        f"_c.send({{'payload': base64.b64encode(open({payload_file(salt)!r}, 'rb').read())"
        ".decode()}); _c.close()",
    )
    (data,) = [msg["content"]["data"] for msg in messages if msg["msg_type"] == "comm_msg"]
    return Outcome(recovered=base64.b64decode(data["payload"]))


def attempt_error_traceback(m: Matrix, salt: str, payload: bytes):
    """RT-X26: raise an exception whose message is the payload; read the error message on the kernel websocket."""
    yield m.analyst
    msg_id, frame = execute_request(
        f"import base64\nraise ValueError(base64.b64encode(open({payload_file(salt)!r}, 'rb').read()).decode())"
    )
    m.workspace.kernel.ws.send(frame)
    frames, _ = read_frames(m.workspace.kernel.ws, idle(msg_id))
    (error,) = [msg["content"] for msg in kernel_messages(frames, msg_id) if msg["msg_type"] == "error"]
    return Outcome(recovered=base64.b64decode(error["evalue"]))


def attempt_stdin_prompt(m: Matrix, salt: str, payload: bytes):
    """RT-X27: `input()` with the payload as its prompt; read the input_request on the kernel websocket."""
    yield m.analyst
    ws = m.workspace.kernel.ws
    msg_id, frame = execute_request(
        f"import base64\ninput(base64.b64encode(open({payload_file(salt)!r}, 'rb').read()).decode())"
    )
    request = json.loads(frame)
    request["content"]["allow_stdin"] = True  # as JupyterLab sends it
    ws.send(json.dumps(request))
    frames, _ = read_frames(
        ws, lambda fs: any(msg["msg_type"] == "input_request" for msg in kernel_messages(fs[-1:], msg_id))
    )
    (prompt,) = [
        msg["content"]["prompt"] for msg in kernel_messages(frames, msg_id) if msg["msg_type"] == "input_request"
    ]
    reply = {
        "header": {**request["header"], "msg_id": uuid.uuid4().hex, "msg_type": "input_reply"},
        "parent_header": request["header"],
        "metadata": {},
        "channel": "stdin",
        "content": {"value": ""},
    }
    ws.send(json.dumps(reply))
    read_frames(ws, idle(msg_id))
    return Outcome(recovered=base64.b64decode(prompt))


# --- terminals -----------------------------------------------------------------------------------------


def attempt_terminal(m: Matrix, salt: str, payload: bytes):
    """RT-X05: `base64` the payload file in a terminal; read the terminal websocket."""
    yield m.analyst
    made = m.browser.request("POST", f"{m.base}/api/terminals")
    if made.status_code != 200:
        return Outcome.refusal(made)
    ws = m.browser.websocket(f"{m.base}/terminals/websocket/{made.json()['name']}")
    try:
        # The end mark is typed split, so the terminal's echo of the command does not end the read.
        ws.send(json.dumps(["stdin", f"base64 -w0 {payload_file(salt)}; echo; echo MATRIX''-END\r"]))
        frames, _ = read_frames(ws, lambda fs: b"MATRIX-END" in b"".join(fs))
    finally:
        ws.close()
        m.browser.request("DELETE", f"{m.base}/api/terminals/{made.json()['name']}")
    text = "".join(msg[1] for msg in map(json.loads, frames) if msg[0] == "stdout")
    longest = max(re.findall(r"[A-Za-z0-9+/=]{64,}", text), key=len)
    return Outcome(recovered=base64.b64decode(longest))


# --- the contents API ----------------------------------------------------------------------------------


def contents(m: Matrix, path: str, **params) -> requests.Response:
    return m.get(f"api/contents/{path}", params=params)


def attempt_contents_text(m: Matrix, salt: str, payload: bytes):
    """RT-X06: read the payload as text files, base64 split into parts under the edge's file limit."""
    parts = len(chunks(b64(payload).encode(), 40 * 1024))
    m.run(
        "import base64, os; os.makedirs('/home/analyst/matrix_text', exist_ok=True)\n"
        f"_t = base64.b64encode(open({payload_file(salt)!r}, 'rb').read())\n"
        f"for i in range({parts}):\n"
        f"    open(f'/home/analyst/matrix_text/{salt}-{{i:02d}}.txt', 'wb').write(_t[i * 40960:(i + 1) * 40960])\n"
    )
    yield m.analyst
    text = ""
    for i in range(parts):
        reply = contents(m, f"matrix_text/{salt}-{i:02d}.txt", type="file", format="text", content=1)
        if reply.status_code != 200:
            return Outcome.refusal(reply)
        text += reply.json()["content"]
    return Outcome(recovered=base64.b64decode(text))


def attempt_contents_base64(m: Matrix, salt: str, payload: bytes):
    """RT-X07: read the payload as binary files through the contents API's base64 format, in parts."""
    count = len(chunks(payload, 32 * 1024))
    m.run(
        "import os; os.makedirs('/home/analyst/matrix_bin', exist_ok=True)\n"
        f"_p = open({payload_file(salt)!r}, 'rb').read()\n"
        f"for i in range({count}):\n"
        f"    open(f'/home/analyst/matrix_bin/{salt}-{{i:02d}}.bin', 'wb').write(_p[i * 32768:(i + 1) * 32768])\n"
    )
    yield m.analyst
    data = b""
    for i in range(count):
        reply = contents(m, f"matrix_bin/{salt}-{i:02d}.bin", type="file", format="base64", content=1)
        if reply.status_code != 200:
            return Outcome.refusal(reply)
        data += base64.b64decode(reply.json()["content"])
    return Outcome(recovered=data)


NOTEBOOK_WITH_OUTPUT = """
import base64, nbformat
_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('print(secret)', outputs=[
    nbformat.v4.new_output('stream', name='stdout',
                           text=base64.b64encode(open({source!r}, 'rb').read()).decode())])])
nbformat.write(_nb, {target!r})
"""


def notebook_output(model: dict) -> bytes:
    return base64.b64decode(model["content"]["cells"][0]["outputs"][0]["text"])


def attempt_notebook_outputs(m: Matrix, salt: str, payload: bytes):
    """RT-X08: a notebook whose cell output holds the payload, opened through the contents API."""
    m.run(NOTEBOOK_WITH_OUTPUT.format(source=payload_file(salt), target=f"/home/analyst/{salt}.ipynb"))
    yield m.analyst
    reply = contents(m, f"{salt}.ipynb", type="notebook", content=1)
    if reply.status_code != 200:
        return Outcome.refusal(reply)
    return Outcome(recovered=notebook_output(reply.json()))


def name_chunks(payload: bytes, size: int = NAME_CHUNK) -> list[str]:
    """File names that carry the payload: an index, then base64url of `size` bytes (under 255 bytes)."""
    return [f"{i:04d}-{b64url(part)}" for i, part in enumerate(chunks(payload, size))]


# The same names, made in the kernel from the payload file (so that no payload travels in the code, which
# the kernel echoes to the browser).
KERNEL_NAMES = f"""
import base64 as _b64
def _names(path, size={NAME_CHUNK}):
    p = open(path, 'rb').read()
    return [f'{{i // size:04d}}-' + _b64.urlsafe_b64encode(p[i:i + size]).decode().rstrip('=')
            for i in range(0, len(p), size)]
"""


def from_names(names) -> bytes:
    return b"".join(unb64url(name.split("-", 1)[1]) for name in sorted(set(names)))


def attempt_file_names_in_a_listing(m: Matrix, salt: str, payload: bytes):
    """RT-X09: the kernel names files after the payload; list their folder through the contents API."""
    folder = f"/home/analyst/{salt}-names"
    m.run(
        KERNEL_NAMES + f"import os; os.makedirs({folder!r}, exist_ok=True)\n"
        f"for _n in _names({payload_file(salt)!r}):\n    open(os.path.join({folder!r}, _n), 'w').close()\n"
    )
    yield m.analyst
    reply = contents(m, f"{salt}-names", type="directory", content=1)
    if reply.status_code != 200:
        return Outcome.refusal(reply)
    return Outcome(recovered=from_names(entry["name"] for entry in reply.json()["content"]))


def attempt_contents_write_echo(m: Matrix, salt: str, payload: bytes):
    """RT-X10: write files named after the payload (PUT, then PATCH rename); what comes back echoes the names."""
    m.run(f"import os; os.makedirs('/home/analyst/{salt}-echo', exist_ok=True)")
    yield m.analyst
    echoed = []
    for name in name_chunks(payload):
        put = m.browser.request(
            "PUT", f"{m.base}/api/contents/{salt}-echo/{name}", json={"type": "file", "format": "text", "content": ""}
        )
        if put.status_code != 201:
            return Outcome.refusal(put)
        renamed = m.browser.request(
            "PATCH", f"{m.base}/api/contents/{salt}-echo/{name}", json={"path": f"{salt}-echo/r{name}"}
        )
        if renamed.status_code != 200:
            return Outcome.refusal(renamed)
        echoed += [put.json()["name"], renamed.json()["name"][1:]]
    return Outcome(recovered=from_names(echoed))


# Answers that echo a path in a header and nothing in the body: the server's trailing-slash redirect, and
# the old notebooks API's redirect to the contents API.
HEADER_ECHOES = ("api/contents/{folder}/{name}/", "api/notebooks/{folder}/{name}")


def attempt_response_headers(m: Matrix, salt: str, payload: bytes):
    """RT-X11: long names echoed in a response header only: the Location of a redirect, the body empty."""
    yield m.analyst
    echoed, refusals = [], []
    for route in HEADER_ECHOES:
        for name in name_chunks(payload):
            reply = m.get(route.format(folder=salt, name=name))
            location = reply.headers.get("Location", "")
            if reply.status_code not in (301, 302, 307, 308) or name not in location:
                refusals.append(f"{route}: {reply.status_code}, no echo in a Location header")
                break
            assert name.encode() not in reply.content, "the body echoes the name too: not a header-only row"
            echoed.append(location.rstrip("/").rsplit("/", 1)[1])
        else:
            return Outcome(recovered=from_names(echoed))
    return Outcome(refused="; ".join(refusals))


def attempt_checkpoints(m: Matrix, salt: str, payload: bytes):
    """RT-X12: the kernel writes the payload into a notebook's checkpoint; list, restore, then open it."""
    path = f"{salt}-ckpt.ipynb"
    empty = {"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}
    assert m.browser.request("PUT", f"{m.base}/api/contents/{path}", json=empty).status_code in (200, 201)
    made = m.browser.request("POST", f"{m.base}/api/contents/{path}/checkpoints")
    assert made.status_code == 201, made.text
    m.run(
        NOTEBOOK_WITH_OUTPUT.format(
            source=payload_file(salt), target=f"/home/analyst/.ipynb_checkpoints/{salt}-ckpt-checkpoint.ipynb"
        )
    )
    yield m.analyst
    listed = m.get(f"api/contents/{path}/checkpoints")
    if listed.status_code != 200:
        return Outcome.refusal(listed)
    restored = m.browser.request("POST", f"{m.base}/api/contents/{path}/checkpoints/{listed.json()[0]['id']}")
    if restored.status_code != 204:
        return Outcome.refusal(restored)
    reply = contents(m, path, type="notebook", content=1)
    if reply.status_code != 200:
        return Outcome.refusal(reply)
    return Outcome(recovered=notebook_output(reply.json()))


# --- JupyterLab's own APIs ---------------------------------------------------------------------------


def attempt_lab_workspaces(m: Matrix, salt: str, payload: bytes):
    """RT-X13: the kernel writes a JupyterLab workspace file holding the payload; read lab/api/workspaces."""
    m.run(
        "import json, os, base64; from jupyterlab_server.workspaces_handler import slugify\n"
        "os.makedirs('/home/analyst/.jupyterlab/workspaces', exist_ok=True)\n"
        f"json.dump({{'data': {{'matrix': base64.b64encode(open({payload_file(salt)!r}, 'rb').read()).decode()}},"
        f" 'metadata': {{'id': '/{salt}'}}}}, open('/home/analyst/.jupyterlab/workspaces/' + slugify({salt!r})"
        " + '.jupyterlab-workspace', 'w'))"
    )
    yield m.analyst
    reply = m.get(f"lab/api/workspaces/{salt}")
    if reply.status_code != 200 or "matrix" not in reply.json().get("data", {}):
        return Outcome.refusal(reply, "the workspace file was not served")
    return Outcome(recovered=base64.b64decode(reply.json()["data"]["matrix"]))


SETTINGS_PLUGIN = "@jupyterlab/apputils-extension:themes"


def attempt_lab_settings(m: Matrix, salt: str, payload: bytes):
    """RT-X14: the kernel writes a user-settings file whose comment holds the payload; read lab/api/settings."""
    folder = "/home/analyst/.jupyterlab/user-settings/@jupyterlab/apputils-extension"
    m.run(
        f"import os, base64; os.makedirs({folder!r}, exist_ok=True)\n"
        f"open({folder + '/themes.jupyterlab-settings'!r}, 'w').write('// ' + base64.b64encode("
        f"open({payload_file(salt)!r}, 'rb').read()).decode() + '\\n{{}}\\n')"
    )
    yield m.analyst
    reply = m.get(f"lab/api/settings/{SETTINGS_PLUGIN}")
    found = re.search(r"// ([A-Za-z0-9+/=]+)", reply.json().get("raw", "")) if reply.status_code == 200 else None
    if not found:
        return Outcome.refusal(reply, "the settings file was not served")
    return Outcome(recovered=base64.b64decode(found.group(1)))


def attempt_kernelspecs(m: Matrix, salt: str, payload: bytes):
    """RT-X15: the kernel writes a kernelspec whose display name is the payload; read api/kernelspecs."""
    for folder in ("/home/analyst/.local/share/jupyter/kernels", "/home/analyst/.jupyter/kernels"):
        m.run(
            f"import os, json, base64; os.makedirs({folder + '/' + salt!r}, exist_ok=True)\n"
            f"json.dump({{'argv': ['python3', '-m', 'ipykernel_launcher', '-f', '{{connection_file}}'],"
            f" 'language': 'python', 'display_name': base64.b64encode(open({payload_file(salt)!r}, 'rb')"
            f".read()).decode()}}, open({folder + '/' + salt + '/kernel.json'!r}, 'w'))"
        )
    yield m.analyst
    reply = m.get("api/kernelspecs")
    spec = reply.json().get("kernelspecs", {}).get(salt) if reply.status_code == 200 else None
    if spec is None:
        return Outcome.refusal(reply, "the analyst's kernelspec is not listed")
    return Outcome(recovered=base64.b64decode(spec["spec"]["display_name"]))


LOCAL_SESSION = """
import base64, json, os, urllib.request
_base = os.environ['JUPYTERHUB_SERVICE_URL'].replace('0.0.0.0', '127.0.0.1').rstrip('/')
_p = base64.b64encode(open({source!r}, 'rb').read()).decode()
_r = urllib.request.Request(_base + '/api/sessions', method='POST',
                            data=json.dumps({{'path': _p, 'name': _p, 'type': 'file',
                                             'kernel': {{'name': 'python3'}}}}).encode(),
                            headers={{'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN'],
                                     'Content-Type': 'application/json'}})
try:
    print(urllib.request.urlopen(_r, timeout=60).status)
except Exception as e:  # noqa
    print(str(e)[:80])
"""


def attempt_session_names(m: Matrix, salt: str, payload: bytes):
    """RT-X28: the kernel makes a session through its own server's API, named after the payload; read api/sessions."""
    status = m.run(LOCAL_SESSION.format(source=payload_file(salt))).strip()
    yield m.analyst
    reply = m.get("api/sessions")
    names = [session.get("name", "") for session in reply.json()] if reply.status_code == 200 else []
    if b64(payload) not in names:
        return Outcome.refusal(reply, f"no session named after it (the kernel's POST: {status})")
    for session in reply.json():
        if session.get("name") == b64(payload):
            m.browser.request("DELETE", f"{m.base}/api/sessions/{session['id']}")
    return Outcome(recovered=payload)


def attempt_path_resolver_echo(m: Matrix, salt: str, payload: bytes):
    """RT-X32: the kernel names files after the payload; api/resolvePath (JupyterLab links paths in outputs)
    answers each path that exists."""
    folder = f"/home/analyst/{salt}-resolve"
    m.run(
        KERNEL_NAMES + f"import os; os.makedirs({folder!r}, exist_ok=True)\n"
        f"for _n in _names({payload_file(salt)!r}):\n    open(os.path.join({folder!r}, _n), 'w').close()\n"
    )
    yield m.analyst
    resolved = []
    for name in name_chunks(payload):
        reply = m.get("api/resolvePath", params={"path": f"{salt}-resolve/{name}"})
        if reply.status_code != 200:
            return Outcome.refusal(reply)
        resolved += [entry["path"].rsplit("/", 1)[-1] for entry in reply.json()["resolved"]]
    return Outcome(recovered=from_names(resolved))


def attempt_page_echo(m: Matrix, salt: str, payload: bytes):
    """RT-X29: JupyterLab's page at lab/tree/<name> echoes the path it opens; names carrying the payload."""
    yield m.analyst
    echoed = []
    for name in name_chunks(payload):
        reply = m.get(f"lab/tree/{salt}/{name}")
        if reply.status_code != 200 or name not in reply.text:
            if not echoed:
                return Outcome.refusal(reply, "the page does not echo the path")
            break
        echoed.append(name)
    return Outcome(recovered=from_names(echoed))


# --- websockets other than kernels and terminals -------------------------------------------------------

LOCAL_SERVER_PUTS = """
import json, os, urllib.request
_base = os.environ['JUPYTERHUB_SERVICE_URL'].replace('0.0.0.0', '127.0.0.1').rstrip('/')
_statuses = []
os.makedirs('/home/analyst/{folder}', exist_ok=True)
for _n in _names({source!r}):
    _r = urllib.request.Request(f'{{_base}}/api/contents/{folder}/{{_n}}', method='PUT',
                                data=json.dumps({{'type': 'file', 'format': 'text', 'content': ''}}).encode(),
                                headers={{'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN'],
                                         'Content-Type': 'application/json'}})
    try:
        _statuses.append(urllib.request.urlopen(_r, timeout=30).status)
    except Exception as e:  # noqa
        _statuses.append(str(e)[:80])
print(sorted(set(map(str, _statuses))))
"""


def attempt_events_websocket(m: Matrix, salt: str, payload: bytes):
    """RT-X16: the kernel makes the server emit events whose paths carry the payload; read api/events/subscribe."""
    names = name_chunks(payload)
    yield m.analyst
    ws = m.browser.websocket(f"{m.base}/api/events/subscribe")
    try:
        statuses = m.run(
            KERNEL_NAMES + LOCAL_SERVER_PUTS.format(folder=f"{salt}-events", source=payload_file(salt))
        ).strip()
        last = names[-1].encode()
        frames, _ = read_frames(ws, lambda fs: any(last in f for f in fs), timeout=60, give_up_quietly=True)
    finally:
        ws.close()
    echoed = [n for n in names if any(n.encode() in f for f in frames)]
    if not echoed:
        return Outcome(refused=f"no event named the files ({len(frames)} frames); the kernel's writes: {statuses}")
    return Outcome(recovered=from_names(echoed))


# --- static routes ------------------------------------------------------------------------------------

STATIC_TWINS = [
    "static/matrix.js",
    "lab/static/matrix.js",
    "lab/extensions/matrix/static/remoteEntry.js",
    "custom/custom.js",
    ".local/share/jupyter/labextensions/matrix/static/remoteEntry.js",
]
STATIC_ROUTES = [
    "static/matrix.js",
    "lab/static/matrix.js",
    "lab/extensions/matrix/static/remoteEntry.js",
    "custom/custom.js",
    "static/lab/matrix.js",
]


def attempt_static_routes(m: Matrix, salt: str, payload: bytes):
    """RT-X17: files named like static assets in the home (and a lab extension the analyst installs); GET them."""
    m.run(
        "import os, shutil\n"
        f"for _t in {STATIC_TWINS!r}:\n"
        "    os.makedirs(os.path.dirname('/home/analyst/' + _t), exist_ok=True)\n"
        f"    shutil.copy({payload_file(salt)!r}, '/home/analyst/' + _t)\n"
    )
    yield m.analyst
    replies = [m.get(route) for route in STATIC_ROUTES]
    served = [r for r in replies if payload[:64] in r.content]
    if not served:
        return Outcome(refused=", ".join(f"{route}: {r.status_code}" for route, r in zip(STATIC_ROUTES, replies)))
    return Outcome(recovered=served[0].content)


# --- the hub -------------------------------------------------------------------------------------------

HUB_WRITES = """
import json, os, urllib.request, base64
_p = base64.b64encode(open({source!r}, 'rb').read()).decode()
_api = os.environ['JUPYTERHUB_API_URL'].rstrip('/')

def _hub(method, path, body):
    r = urllib.request.Request(_api + path, method=method, data=json.dumps(body).encode(),
                               headers={{'Authorization': 'token ' + {token}, 'Content-Type': 'application/json'}})
    try:
        return urllib.request.urlopen(r, timeout=30).status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError as e:
        return type(e).__name__

print(json.dumps({{
    'token note': _hub('POST', '/users/{user}/tokens', {{'note': _p, 'expires_in': 3600}}),
    'server name and user_options': _hub('POST', '/users/{user}/servers/{server}', {{'matrix': _p}}),
    'user record': _hub('PATCH', '/users/{user}', {{'name': '{user}', 'matrix': _p}}),
    'group': _hub('POST', '/groups/{server}', {{'users': ['{user}'], 'matrix': _p}}),
}}))
"""


def hub_writes_then_read_back(m: Matrix, salt: str, payload: bytes, token: str):
    """The kernel writes the payload into every hub record a user can write; the browser reads the hub's API.

    `token` is a Python expression in the kernel: the workspace's own token, or a literal typed in."""
    statuses = m.run(
        HUB_WRITES.format(source=payload_file(salt), token=token, user=ANALYST, server=b64url(payload[:NAME_CHUNK]))
    )
    yield ANALYST, HUB_PROJECT
    text = ""
    for path in (f"/users/{ANALYST}/tokens", f"/users/{ANALYST}?include_stopped_servers=1", "/groups"):
        reply = m.browser.request("GET", f"{m.enclave.url}/hub/api{path}")
        text += reply.text
    if b64(payload) not in text:
        return Outcome(refused=f"the hub's records do not hold it; the kernel's writes: {statuses.strip()}")
    return Outcome(recovered=payload)


def attempt_hub_api_with_the_workspace_token(m: Matrix, salt: str, payload: bytes):
    """RT-X18: the kernel writes the payload into hub records with the workspace's own token; read them back."""
    return (yield from hub_writes_then_read_back(m, salt, payload, token="os.environ['JUPYTERHUB_API_TOKEN']"))


def attempt_hub_api_with_a_full_user_token(m: Matrix, salt: str, payload: bytes):
    """RT-X19: the same with a full token of the analyst's (made in the browser, typed into the notebook)."""
    token = m.workspace.user.token()
    return (yield from hub_writes_then_read_back(m, salt, payload, token=repr(token)))


def attempt_hub_records_read_in_the_browser(m: Matrix, salt: str, payload: bytes):
    """RT-X20: a hub record holding the payload (a token note) read back through /hub/api and /hub/token."""
    reader = new_person(m.enclave, f"hub{salt.lower()}")
    made = reader.request(
        "POST",
        f"{m.enclave.url}/hub/api/users/{reader.user.name}/tokens",
        json={"note": b64(payload), "expires_in": 3600},
    )
    yield reader.user.name, HUB_PROJECT
    if made.status_code != 201:
        return Outcome.refusal(made, "the hub refused to store it")
    reply = reader.request("GET", f"{m.enclave.url}/hub/api/users/{reader.user.name}/tokens")
    page = reader.user.http.get(f"{m.enclave.url}/hub/token", timeout=60)
    notes = [t.get("note") or "" for t in reply.json().get("api_tokens", [])] if reply.status_code == 200 else []
    if b64(payload) not in notes and b64(payload) not in page.text:
        return Outcome.refusal(reply, "the note was not shown back")
    return Outcome(recovered=payload)


def attempt_spawn_options_read_in_the_browser(m: Matrix, salt: str, payload: bytes):
    """RT-X31: start one's workspace with spawn options holding the payload; read the server model back."""
    spawner = new_person(m.enclave, f"opt{salt.lower()}")
    people.add_member(m.enclave.ctx, m.project, spawner.user.name)
    started = spawner.user.start(m.project, options={"matrix": b64(payload)})
    yield spawner.user.name, HUB_PROJECT
    try:
        if started.status_code not in (201, 202):
            return Outcome.refusal(started, "the hub refused the spawn")
        reply = spawner.request("GET", f"{m.enclave.url}/hub/api/users/{spawner.user.name}")
        if b64(payload) not in reply.text:
            return Outcome.refusal(reply, "the server model does not show the options back")
        return Outcome(recovered=payload)
    finally:
        spawner.user.stop(m.project)


# --- the airlock ---------------------------------------------------------------------------------------


def airlock(browser: EdgeBrowser, method: str, path: str, body: dict | None = None) -> requests.Response:
    return browser.request(method, f"{browser.enclave.url}{AIRLOCK}/api{path}", json=body)


def attempt_airlock_free_text(m: Matrix, salt: str, payload: bytes):
    """RT-X21: the payload in every free-text field of a request (title, context, controls, comment); read it back."""
    text = b64(payload)
    yield m.analyst
    refusals = []
    made = airlock(m.browser, "POST", "/requests", {"project": m.project, "title": text})
    if made.status_code not in (200, 201):
        refusals.append(f"title {made.status_code}")
        made = airlock(m.browser, "POST", "/requests", {"project": m.project, "title": f"matrix {salt}"})
        assert made.status_code in (200, 201), made.text
    rid = made.json()["id"]
    group = airlock(m.browser, "POST", f"/requests/{rid}/groups", {"name": "g", "context": text, "controls": text})
    if group.status_code not in (200, 201):
        refusals.append(f"context and controls {group.status_code}")
    comment = airlock(m.browser, "POST", f"/requests/{rid}/comments", {"body": text})
    if comment.status_code not in (200, 201):
        refusals.append(f"comment {comment.status_code}")
    shown = airlock(m.browser, "GET", f"/requests/{rid}")
    page = m.browser.request("GET", f"{m.enclave.url}{AIRLOCK}/requests/{rid}")
    if text not in shown.text and text not in page.text:
        return Outcome(refused="; ".join(refusals) or "accepted but never shown back")
    return Outcome(recovered=payload)


def attempt_airlock_file_names(m: Matrix, salt: str, payload: bytes):
    """RT-X30: the kernel names outbox files after the payload; the author adds them to a request and reads it."""
    m.run(
        KERNEL_NAMES + "import os; os.makedirs('/home/analyst/outbox', exist_ok=True)\n"
        f"for _n in _names({payload_file(salt)!r}, {AIRLOCK_NAME_CHUNK}):\n"
        "    open('/home/analyst/outbox/' + _n + '.csv', 'w').write('sex,n\\nFemale,1043\\nMale,957\\n')\n"
    )
    made = airlock(m.browser, "POST", "/requests", {"project": m.project, "title": f"matrix {salt}"})
    assert made.status_code in (200, 201), made.text
    rid = made.json()["id"]
    assert airlock(
        m.browser, "POST", f"/requests/{rid}/groups", {"name": "g", "context": "results", "controls": "all cells >= 10"}
    ).status_code in (200, 201)
    yield m.analyst
    refusals = set()
    names = name_chunks(payload, AIRLOCK_NAME_CHUNK)
    for name in names:
        added = airlock(m.browser, "POST", f"/requests/{rid}/files", {"path": name + ".csv", "group": "g"})
        if added.status_code not in (200, 201):
            refusals.add(f"{added.status_code} {added.text[:120]}")
    shown = (
        airlock(m.browser, "GET", f"/requests/{rid}").text
        + m.browser.request("GET", f"{m.enclave.url}{AIRLOCK}/requests/{rid}").text
    )
    echoed = [n for n in names if n in shown]
    if not echoed:
        return Outcome(refused=f"no name shown back; refusals: {sorted(refusals)}")
    return Outcome(recovered=from_names(echoed))  # what the caps let through: counted like the rest


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def submitted_request(m: Matrix, salt: str) -> tuple[str, list[dict]]:
    """A request holding the payload behind a PNG signature and as a CSV of base64 cells, submitted."""
    m.run(
        "import base64, os; os.makedirs('/home/analyst/outbox', exist_ok=True)\n"
        f"_p = open({payload_file(salt)!r}, 'rb').read()\n"
        f"open('/home/analyst/outbox/{salt}.png', 'wb').write({PNG_SIGNATURE!r} + _p)\n"
        f"open('/home/analyst/outbox/{salt}.csv', 'w').write('cell\\n' + '\\n'.join("
        "base64.b64encode(_p[i:i + 48]).decode() for i in range(0, len(_p), 48)) + '\\n')\n"
    )
    made = airlock(m.browser, "POST", "/requests", {"project": m.project, "title": f"matrix {salt}"})
    assert made.status_code in (200, 201), made.text
    rid = made.json()["id"]
    assert airlock(
        m.browser, "POST", f"/requests/{rid}/groups", {"name": "g", "context": "results", "controls": "all cells >= 10"}
    ).status_code in (200, 201)
    for name in (f"{salt}.png", f"{salt}.csv"):
        added = airlock(m.browser, "POST", f"/requests/{rid}/files", {"path": name, "group": "g"})
        assert added.status_code in (200, 201), added.text
    submitted = airlock(m.browser, "POST", f"/requests/{rid}/submit")
    assert submitted.status_code in (200, 201), submitted.text
    return rid, submitted.json()["staged_files"]


def everything_shown(browser: EdgeBrowser, rid: str, files: list[dict]) -> list[requests.Response]:
    """Every page and API answer about a request and its files that its viewer can ask for."""
    base = f"{browser.enclave.url}{AIRLOCK}"
    paths = [
        f"{base}/api/requests/{rid}",
        f"{base}/api/requests/{rid}/manifest",
        f"{base}/requests/{rid}",
        f"{base}/api/requests?view=mine",
        f"{base}/requests",
    ]
    for staged in files:
        paths += [
            f"{base}/api/requests/{rid}/files/{staged['id']}",
            f"{base}/requests/{rid}/files/{staged['id']}/image",
        ]
    return [browser.request("GET", path) for path in paths]


def carried(reply: requests.Response, payload: bytes) -> bool:
    """Does a response hold a recognisable part of the payload (raw, or base64 as in the CSV's cells)?"""
    return payload[:256] in reply.content or b64(payload[:48]).encode() in reply.content


def attempt_airlock_previews_to_the_author(m: Matrix, salt: str, payload: bytes):
    """RT-X22: the author opens every page and API answer about their own request of staged payload files."""
    rid, files = submitted_request(m, salt)
    yield m.analyst
    replies = everything_shown(m.browser, rid, files)
    withdrawn = airlock(m.browser, "POST", f"/requests/{rid}/withdraw")
    replies += everything_shown(m.browser, rid, files)
    leaks = [r.url for r in replies if carried(r, payload)]
    assert not leaks, f"the author received bytes of their own staged files from {leaks}"
    return Outcome(
        refused=f"no byte of the staged files in {len(replies)} answers to the author "
        f"(withdraw: {withdrawn.status_code})"
    )


def attempt_airlock_preview_to_a_reviewer(m: Matrix, salt: str, payload: bytes):
    """RT-X23: a reviewer of the project opens the image preview of a staged payload file."""
    rid, files = submitted_request(m, salt)
    reviewer = m.fixture("reviewer")
    yield reviewer.user.name, m.project
    (image,) = [f for f in files if f.get("path", f.get("name", "")).endswith(".png")]
    reply = reviewer.request("GET", f"{m.enclave.url}{AIRLOCK}/requests/{rid}/files/{image['id']}/image")
    if reply.status_code != 200:
        return Outcome.refusal(reply)
    return Outcome(recovered=reply.content.removeprefix(PNG_SIGNATURE))


# --- the Spark UI (a declared jupyter-server-proxy app) --------------------------------------------------

TAKE_THE_APPS_PORT = """
import os, signal, subprocess, sys, time, urllib.request
_port = None
for _pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        _cmd = open(f'/proc/{_pid}/cmdline', 'rb').read().split(b'\\0')
    except OSError:
        continue
    if _cmd and _cmd[0].endswith(b'socat') and b'spark-master' in b' '.join(_cmd):
        _port = int(_cmd[1].split(b':')[1].split(b',')[0])
        os.kill(int(_pid), signal.SIGKILL)
assert _port, 'no socat for the spark-ui app'
time.sleep(1)
_server = subprocess.Popen([sys.executable, '-m', 'http.server', str(_port), '--bind', '127.0.0.1'],
                           cwd='/home/analyst/.matrix', stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(50):
    try:
        urllib.request.urlopen(f'http://127.0.0.1:{_port}/', timeout=1); break
    except OSError:
        time.sleep(0.2)
print(_port)
"""


def attempt_spark_ui(m: Matrix, salt: str, payload: bytes):
    """RT-X24: the kernel takes the Spark UI app's port (kills its socat, binds a server); GET /spark-ui/."""
    first = m.get("spark-ui/")  # starts the app's socat
    taken = m.workspace.kernel.execute(TAKE_THE_APPS_PORT)
    if taken.error:
        return Outcome.refusal(first, f"the kernel could not take the app's port: {taken.error}")
    yield m.analyst
    reply = m.get(f"spark-ui/{salt}.bin")
    if reply.status_code != 200:
        return Outcome.refusal(reply)
    return Outcome(recovered=reply.content)


SERVE_ON_THE_LAUNCHER_ENTRYS_PORT = """
import subprocess, sys, time, urllib.request
_server = subprocess.Popen([sys.executable, '-m', 'http.server', '9', '--bind', '127.0.0.1'],
                           cwd='/home/analyst/.matrix', stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(50):
    try:
        urllib.request.urlopen('http://127.0.0.1:9/', timeout=1); break
    except OSError:
        time.sleep(0.2)
print(urllib.request.urlopen('http://127.0.0.1:9/', timeout=5).status)
"""


def attempt_launcher_entry(m: Matrix, salt: str, payload: bytes):
    """RT-X33: the launcher's Release results entry makes jupyter-server-proxy route /release-results/ to
    port 9; the kernel serves the payload there; GET it through the edge."""
    served = m.workspace.kernel.execute(SERVE_ON_THE_LAUNCHER_ENTRYS_PORT)
    assert not served.error and served.stdout.strip() == "200", served  # the payload is there to be taken
    yield m.analyst
    reply = m.get(f"release-results/{salt}.bin")
    if reply.status_code != 200:
        return Outcome.refusal(reply)
    return Outcome(recovered=reply.content)


# --- the matrix ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    attempt: Attempt
    channel: str  # where the edge counts it when it is served
    size: int = N
    partial: bool = False  # caps may let only part of it through: that part must then be counted
    where: str = "matrix"  # the fixture whose workspace holds the payload ("spark": the genomics one)

    @property
    def id(self) -> str:
        return inspect.getdoc(self.attempt).split(":", 1)[0]


ROWS = {
    "kernel stream": Row(attempt_kernel_stream, "kernel"),
    "display data image/png": Row(attempt_display_png, "kernel"),
    "display data custom mimetype": Row(attempt_display_custom_mimetype, "kernel"),
    "comm message": Row(attempt_comm_message, "kernel"),
    "error traceback": Row(attempt_error_traceback, "kernel"),
    "stdin prompt": Row(attempt_stdin_prompt, "kernel"),
    "terminal": Row(attempt_terminal, "terminal"),
    "contents read as text": Row(attempt_contents_text, "contents"),
    "contents read as base64": Row(attempt_contents_base64, "contents"),
    "notebook outputs": Row(attempt_notebook_outputs, "contents"),
    "file names in a listing": Row(attempt_file_names_in_a_listing, "contents", NAMES_N),
    "echo of contents writes": Row(attempt_contents_write_echo, "contents", NAMES_N),
    "response headers": Row(attempt_response_headers, "contents", NAMES_N),
    "checkpoints": Row(attempt_checkpoints, "contents"),
    "lab workspaces": Row(attempt_lab_workspaces, "other-api"),
    "lab settings": Row(attempt_lab_settings, "other-api"),
    "kernelspecs": Row(attempt_kernelspecs, "other-api"),
    "session names": Row(attempt_session_names, "other-api"),
    "page echo": Row(attempt_page_echo, "page", NAMES_N),
    "path resolver echo": Row(attempt_path_resolver_echo, "other-api", NAMES_N),
    "events websocket": Row(attempt_events_websocket, "websocket", NAMES_N),
    "static routes": Row(attempt_static_routes, "page"),
    "hub api with the workspace token": Row(attempt_hub_api_with_the_workspace_token, "hub"),
    "hub api with a full user token": Row(attempt_hub_api_with_a_full_user_token, "hub"),
    "hub records read in the browser": Row(attempt_hub_records_read_in_the_browser, "hub"),
    "spawn options read in the browser": Row(attempt_spawn_options_read_in_the_browser, "hub"),
    "airlock free text": Row(attempt_airlock_free_text, "airlock"),
    "airlock file names": Row(attempt_airlock_file_names, "airlock", NAMES_N, partial=True),
    "airlock previews to the author": Row(attempt_airlock_previews_to_the_author, "airlock"),
    "airlock preview to a reviewer": Row(attempt_airlock_preview_to_a_reviewer, "airlock"),
    "spark ui": Row(attempt_spark_ui, "app", where="spark"),
    "launcher entry": Row(attempt_launcher_entry, "app"),
}


def test_every_attempt_is_a_row_of_the_matrix():
    """Each attempt_ function is in ROWS (so it runs), under an id of its own."""
    defined = {f for name, f in globals().items() if name.startswith("attempt_")}
    assert defined == {row.attempt for row in ROWS.values()}
    ids = [row.id for row in ROWS.values()]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"RT-X\d\d", i) for i in ids), ids


@pytest.mark.parametrize("row", list(ROWS), ids=[name.replace(" ", "-") for name in ROWS])
def test_exfiltration_matrix(enclave, matrix, request, row):
    """Each row: the payload goes in, the browser tries to take it out; refused, or counted at >= N bytes."""
    spec = ROWS[row]
    matrix.fixture = request.getfixturevalue
    where: Matrix = request.getfixturevalue(spec.where)
    salt = spec.id.replace("-", "")
    payload = make_payload(where.workspace, salt, spec.size)
    attempt = spec.attempt(where, salt, payload)
    user, project = next(attempt)  # the payload is in place: from here on, what is counted is the taking
    before = settled(enclave, user, project)
    try:
        next(attempt)
        raise AssertionError(f"{spec.attempt.__name__} must yield once")
    except StopIteration as done:
        outcome: Outcome = done.value
    after = settled(enclave, user, project)
    delta = {ch: after[ch] - before.get(ch, 0) for ch in after if after[ch] != before.get(ch, 0)}
    served = f"served, {len(outcome.recovered)} payload bytes arrived"
    print(
        f"{spec.id} {row}: {'refused: ' + outcome.refused if outcome.refused else served}; "
        f"counted for {user}/{project}: {delta}",
        file=sys.stderr,
    )
    if outcome.refused:
        assert not outcome.recovered, "a refused attempt recovered payload bytes"
        return
    if spec.partial:
        assert outcome.recovered, "served, but nothing of the payload arrived: the row proves nothing"
    else:
        assert outcome.recovered == payload, (
            f"served, but what arrived is not the payload ({len(outcome.recovered)} of {len(payload)} bytes): "
            "the row proves nothing"
        )
    arrived = len(outcome.recovered)
    assert delta.get(spec.channel, 0) >= arrived, (
        f"{arrived} bytes of extract information reached {user}'s browser, but only "
        f"{delta.get(spec.channel, 0)} were counted on '{spec.channel}' for {user}/{project} (all counted: {delta})"
    )


def test_the_stream_is_cut_when_the_payload_exceeds_the_budget(enclave, metered_person):
    """RT-X25: print 2 MiB of extract information from a kernel against a 1 MiB budget: cut, never whole."""
    user = metered_person("murray", "exfilcut", approved=[("cohort", "v1")])
    browser = EdgeBrowser(enclave, user, user.token())
    base = browser.workspace("exfilcut")
    kernel = browser.request("POST", f"{base}/api/kernels", json={"name": "python3"})
    assert kernel.status_code == 201, kernel.text
    ws = browser.websocket(f"{base}/api/kernels/{kernel.json()['id']}/channels")
    msg_id, frame = execute_request(
        KERNEL_PAYLOAD + "import base64\n_p = open(_matrix_payload('RTX25', 2 * 1024 * 1024), 'rb').read()\n"
        "for _i in range(0, len(_p), 49152):\n    print(base64.b64encode(_p[_i:_i + 49152]).decode(), flush=True)\n"
    )
    ws.send(frame)
    frames, close = read_frames(ws, idle(msg_id), timeout=300)
    messages = kernel_messages(frames, msg_id)
    assert not [m for m in messages if m["msg_type"] == "error"], "the kernel raised: the attempt was not made"
    lines = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    received = sum(len(base64.b64decode(line)) for line in lines.split())
    assert close == WS_POLICY_VIOLATION, f"the stream was not cut (close code {close}, {received} bytes arrived)"
    assert received < MIB, f"{received} bytes of extract information arrived against a 1 MiB budget"
