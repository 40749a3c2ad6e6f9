"""The load benchmark's clients: analysts and reviewers doing over HTTP and websockets what their browsers do.

Each person has one aiohttp session through the edge (TLS, six connections per origin as Chromium has,
a cookie jar), logs in with the hub's form, takes a hub token and then works:

- an analyst starts the project's workspace, opens a notebook as JupyterLab does (a session, hence a
  kernel, and its websocket), leaves a background thread in the kernel printing a log line every
  tenth of a second (live output streaming through the edge), and in a loop with think times loads
  JupyterLab (the page and every request Chromium made for it, replayed), reopens the notebook
  (contents, sessions, kernels, the file listing), runs a small cell, saves the notebook, loads the
  hub's home page; once per level it writes a table to its outbox from the kernel and submits it to
  the airlock;
- a reviewer polls the airlock's queue, opens each request and votes to approve it.

Every byte an answer brings is counted by the person who received it, by where it came from (the
workspace over HTTP, the kernel's websocket, the hub, the airlock), as the edge's meter counts it: an
answer's head as the status line and its headers (without the two the edge's HTTP server adds for the
connection itself, Transfer-Encoding and Connection), its body as sent (not decompressed), each
websocket message's payload. Answers the edge gives itself (marked X-Enclave-Edge: its copy of the
image's static files, refusals), the hub's static files and the login page (to nobody logged in yet)
are not metered and counted apart.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from harness.kernel import execute_request

AIRLOCK = "/services/egress-review"
BROWSER_CONNECTIONS = 6  # what Chromium opens per origin over HTTP/1.1
REQUEST_TIMEOUT_S = 120
NOT_METERED_HEADS = (b"transfer-encoding", b"connection")  # added by the edge's HTTP server after metering
NOTEBOOK = "load.ipynb"
OUTBOX = "/home/analyst/outbox"  # in the workspace
STREAM_INTERVAL_S = 0.1
QUIET_S = 1.0  # a kernel silent this long after its last cell has nothing more in flight


def aggregate(seed: int) -> str:
    """A table of counts every airlock check passes (tests/support/airlock.py's, numbers varied)."""
    return f"sex,n\nFemale,{1000 + seed}\nMale,{900 + seed}\n"


def streaming_code(line_chars: int) -> str:
    """A cell that leaves a thread printing a log line every STREAM_INTERVAL_S (as a training loop does)."""
    return (
        "import random, string, threading\n"
        "_load_stop = threading.Event()\n"
        "def _load_log():\n"
        "    step = 0\n"
        f"    while not _load_stop.wait({STREAM_INTERVAL_S}):\n"
        "        step += 1\n"
        f"        print(f'step {{step:7d}} ' + ''.join(random.choices(string.ascii_letters, k={line_chars})),"
        " flush=True)\n"
        "_load_thread = threading.Thread(target=_load_log, daemon=True)\n"
        "_load_thread.start()\n"
    )


STOP_STREAMING = "_load_stop.set(); _load_thread.join()"
SMALL_CELL = "sum(i * i for i in range(20_000))"


def notebook(cells: int) -> dict:
    sources = [f"x{i} = {i} * 2\nprint(x{i})" for i in range(cells)]
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell{i}",
                "source": source,
                "metadata": {},
                "execution_count": i + 1,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": f"{i * 2}\n"}],
            }
            for i, source in enumerate(sources)
        ],
    }


def metered_kind(path: str, headers) -> str | None:
    """Where the edge's meter counts an answer to `path` ("workspace", "hub", "airlock"), or None if it does not.

    Stated here from the edge's documented rules (docs/security.md), not read from its code.
    """
    if "X-Enclave-Edge" in headers:
        return None  # the edge's own answer: its copy of the image's static files, a refusal
    segments = [s for s in urlsplit(path).path.split("/") if s]
    if segments[:1] == ["user"] and len(segments) >= 3:
        return None if segments[3:] == ["api", "nbconvert"] else "workspace"  # the exporter list: the edge's
    if segments[:2] == ["services", AIRLOCK.rsplit("/", 1)[1]]:
        return "airlock"
    if segments[:2] == ["hub", "static"] or segments == ["hub", "logo"]:
        return None
    return "hub"


def head_bytes(response: aiohttp.ClientResponse) -> int:
    """The answer's head as the edge's meter counts it (enclave.edge.headers.serialised_head's form)."""
    size = len(f"HTTP/1.1 {response.status} {response.reason or ''}\r\n".encode())
    for name, value in response.raw_headers:
        if name.lower() not in NOT_METERED_HEADS:
            size += len(name) + 2 + len(value) + 2
    return size + 2


def decoded(body: bytes, headers) -> bytes:
    encoding = headers.get("Content-Encoding", "identity").lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


@dataclass
class Tally:
    """What the clients of one level saw."""

    phase: str = "setup"  # "setup" (logging in, starting workspaces and kernels) or "steady"
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # "<phase>:<what>"
    errors: list[str] = field(default_factory=list)
    received: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    unmetered: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    submissions: dict[str, str] = field(default_factory=dict)  # request id -> analyst, acknowledged
    votes: set[tuple[str, str]] = field(default_factory=set)  # (request id, reviewer), acknowledged
    kernel_messages: int = 0
    requests: int = 0  # HTTP requests sent through the edge
    cpu: dict = field(default_factory=dict)  # the work phase's CPU use and request rate (bench_load)

    def time(self, what: str, seconds: float) -> None:
        self.samples[f"{self.phase}:{what}"].append(seconds)

    def error(self, person: str, what: str) -> None:
        self.errors.append(f"{self.phase} {person}: {what}")

    def receive(self, person: str, kind: str | None, nbytes: int) -> None:
        if kind is None:
            self.unmetered[person] += nbytes
        else:
            self.received[person][kind] += nbytes


@dataclass
class Reply:
    status: int
    body: bytes
    headers: object

    def json(self):
        return json.loads(decoded(self.body, self.headers))


class CallFailed(Exception):
    """A request that did not get the answer it needed (already recorded as an error)."""


class Person:
    """One person's browser: a session through the edge that counts every byte it receives."""

    def __init__(self, base: str, ssl_context, name: str, password: str, tally: Tally):
        self.base, self.name, self.password, self.tally = base.rstrip("/"), name, password, tally
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=BROWSER_CONNECTIONS, ssl=ssl_context),
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1, as a browser keeps them
            auto_decompress=False,  # bodies counted as sent
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
        )
        self.auth: dict[str, str] = {}

    async def fetch(self, method: str, path: str, *, named: bool = True, headers=None, **kwargs) -> Reply:
        """One request; every byte of its answer counted, even of an answer cut short. Raises on no answer."""
        sent = {"Accept-Encoding": "gzip, deflate", **self.auth, **(headers or {})}
        self.tally.requests += 1
        async with self.http.request(method, self.base + path, headers=sent, allow_redirects=False, **kwargs) as r:
            kind = metered_kind(path, r.headers) if named else None
            body = bytearray()
            try:
                async for chunk in r.content.iter_any():
                    body += chunk
            finally:
                self.tally.receive(self.name, kind, head_bytes(r) + len(body))
            return Reply(r.status, bytes(body), r.headers)

    async def call(self, what: str, method: str, path: str, expect=(200,), **kwargs) -> Reply:
        """A timed request that must be answered with one of `expect`; else recorded and CallFailed."""
        started = time.perf_counter()
        try:
            reply = await self.fetch(method, path, **kwargs)
        except (aiohttp.ClientError, TimeoutError) as e:
            self.tally.error(self.name, f"{what}: {method} {path}: {type(e).__name__}: {e}")
            raise CallFailed(what) from None
        self.tally.time(what, time.perf_counter() - started)
        if reply.status not in expect:
            self.tally.error(self.name, f"{what}: {method} {path} answered {reply.status}: {reply.body[:200]!r}")
            raise CallFailed(what)
        return reply

    async def log_in(self) -> None:
        """The hub's login form, its home page, then a token for the APIs (as JupyterLab holds one)."""
        try:
            await self.fetch("GET", "/hub/login", named=False)  # to nobody logged in yet: not metered
        except (aiohttp.ClientError, TimeoutError) as e:
            self.tally.error(self.name, f"login page: {type(e).__name__}: {e}")
            raise CallFailed("login page") from None
        form = {"username": self.name, "password": self.password, "_xsrf": self._hub_xsrf()}
        await self.call("log in", "POST", "/hub/login", expect=(302,), data=form)
        await self.call("hub home page", "GET", "/hub/home")
        body = {"note": "load benchmark", "expires_in": 7200}
        reply = await self.call(
            "hub API", "POST", f"/hub/api/users/{self.name}/tokens", expect=(201,), json=body, headers=self._xsrf()
        )
        self.auth = {"Authorization": f"token {reply.json()['token']}"}

    def _hub_xsrf(self) -> str:
        cookie = self.http.cookie_jar.filter_cookies(URL(self.base + "/hub/")).get("_xsrf")
        return cookie.value if cookie else ""

    def _xsrf(self) -> dict:
        return {"X-XSRFToken": self._hub_xsrf()}

    async def close(self) -> None:
        await self.http.close()


class LiveKernel:
    """A notebook's session as JupyterLab opens it, its kernel's websocket read all the time and counted."""

    def __init__(self, person: Person, server: str):
        self.person, self.server = person, server
        self.session_id = self.ws = self.reader = None
        self.waiting: dict[str, asyncio.Future] = {}
        self.outcome: dict[str, str | None] = {}
        self.last_message = time.monotonic()

    async def open(self) -> None:
        body = {"path": NOTEBOOK, "name": NOTEBOOK, "type": "notebook", "kernel": {"name": "python3"}}
        reply = await self.person.call("notebook session", "POST", f"{self.server}/api/sessions", (201,), json=body)
        session = reply.json()
        self.session_id, kernel_id = session["id"], session["kernel"]["id"]
        url = self.person.base.replace("https://", "wss://", 1) + f"{self.server}/api/kernels/{kernel_id}/channels"
        try:
            self.ws = await self.person.http.ws_connect(
                url, headers={**self.person.auth, "Origin": self.person.base}, max_msg_size=0
            )
        except (aiohttp.ClientError, TimeoutError) as e:
            self.person.tally.error(self.person.name, f"kernel websocket: {type(e).__name__}: {e}")
            raise CallFailed("kernel websocket") from None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        tally, name = self.person.tally, self.person.name
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = message.data.encode("utf-8", "surrogatepass")
            elif message.type == aiohttp.WSMsgType.BINARY:
                data = message.data
            else:
                break
            tally.receive(name, "kernel", len(data))
            self.last_message = time.monotonic()
            tally.kernel_messages += 1
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            msg = json.loads(data)
            parent = msg.get("parent_header", {}).get("msg_id")
            if parent not in self.waiting:
                continue
            kind, content = msg.get("msg_type"), msg.get("content", {})
            if kind == "error":
                self.outcome[parent] = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content.get("execution_state") == "idle":
                future = self.waiting.pop(parent)
                if not future.done():
                    future.set_result(self.outcome.pop(parent, None))
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError(f"the kernel websocket closed ({self.ws.close_code})"))

    async def execute(self, code: str, what: str = "kernel execute") -> None:
        """Run `code`; the time from sending it until the kernel is idle again."""
        msg_id, frame = execute_request(code, username=self.person.name)
        future = self.waiting[msg_id] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        try:
            await self.ws.send_str(frame)
            error = await asyncio.wait_for(future, REQUEST_TIMEOUT_S)
        except (aiohttp.ClientError, ConnectionError, TimeoutError) as e:
            self.waiting.pop(msg_id, None)
            self.person.tally.error(self.person.name, f"{what}: {type(e).__name__}: {e}")
            raise CallFailed(what) from None
        self.person.tally.time(what, time.perf_counter() - started)
        if error:
            self.person.tally.error(self.person.name, f"{what}: the cell raised {error}")
            raise CallFailed(what)

    async def close(self) -> None:
        """Close the notebook as JupyterLab does: its websocket once the kernel is quiet, then the session.

        Every message is read before the close (the kernel is idle and silent for QUIET_S first), so
        what the client counted is all the edge relayed.
        """
        if self.reader is not None:
            deadline = time.monotonic() + 30
            while time.monotonic() - self.last_message < QUIET_S and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await self.ws.close()
            await asyncio.gather(self.reader, return_exceptions=True)
        if self.session_id is not None:
            try:
                await self.person.call(
                    "notebook session", "DELETE", f"{self.server}/api/sessions/{self.session_id}", (204,)
                )
            except CallFailed:
                pass


class Analyst(Person):
    def __init__(self, base, ssl_context, name, password, tally, *, project: str, lab_paths: list[str], seed: int):
        super().__init__(base, ssl_context, name, password, tally)
        self.project = project
        self.server = f"/user/{name}/{project}"
        self.lab_paths = lab_paths  # this person's, the recorded ones with their own server path
        self.rng = random.Random(seed)
        self.seed = seed
        self.kernel: LiveKernel | None = None
        self.saves = 0

    async def start_workspace(self, timeout_s: float = 300) -> None:
        """Ask the hub for the workspace (or find it running) and wait until the hub says it is ready."""
        started = time.perf_counter()
        reply = await self.call(
            "hub API", "POST", f"/hub/api/users/{self.name}/servers/{self.project}", expect=(201, 202, 400)
        )
        if reply.status == 400 and b"already running" not in reply.body:
            self.tally.error(self.name, f"workspace start refused: {reply.body[:200]!r}")
            raise CallFailed("workspace start")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = (await self.call("hub API", "GET", f"/hub/api/users/{self.name}")).json()
            server = (state.get("servers") or {}).get(self.project)
            if server and server.get("ready"):
                if reply.status != 400:
                    self.tally.time("workspace start", time.perf_counter() - started)
                return
            if server is None:
                self.tally.error(self.name, "the workspace stopped while starting")
                raise CallFailed("workspace start")
            await asyncio.sleep(0.5)
        self.tally.error(self.name, f"the workspace was not ready within {timeout_s:.0f} s")
        raise CallFailed("workspace start")

    async def set_up(self, line_chars: int) -> None:
        await self.log_in()
        await self.start_workspace()
        await self.save_notebook()  # JupyterLab creates the file before opening it
        self.kernel = LiveKernel(self, self.server)
        await self.kernel.open()
        await self.kernel.execute(streaming_code(line_chars), "kernel execute")

    # --- what the analyst does, again and again ---------------------------------------------------

    async def load_lab(self) -> None:
        """JupyterLab: the page, then everything it asks for over the browser's six connections."""
        started = time.perf_counter()
        headers = {"Accept-Encoding": "gzip, deflate, br", "Accept": "*/*"}
        try:
            first = await self.fetch("GET", self.lab_paths[0], headers=headers)
            rest = await asyncio.gather(*(self.fetch("GET", p, headers=headers) for p in self.lab_paths[1:]))
        except (aiohttp.ClientError, TimeoutError) as e:
            self.tally.error(self.name, f"JupyterLab page load: {type(e).__name__}: {e}")
            raise CallFailed("page load") from None
        self.tally.time("JupyterLab page load", time.perf_counter() - started)
        failed = [f"{p} {r.status}" for p, r in zip(self.lab_paths, [first, *rest], strict=True) if r.status >= 400]
        if failed:
            self.tally.error(self.name, f"JupyterLab page load: {len(failed)} failed, e.g. {failed[:3]}")

    async def open_notebook(self) -> None:
        """Reopening the notebook in JupyterLab: its content, the sessions, the kernels, the file listing."""
        started = time.perf_counter()
        calls = (
            f"{self.server}/api/contents/{NOTEBOOK}?type=notebook&content=1",
            f"{self.server}/api/sessions",
            f"{self.server}/api/kernels",
            f"{self.server}/api/contents?type=directory&content=1",
        )
        await asyncio.gather(*(self.call("workspace API", "GET", c) for c in calls))
        self.tally.time("notebook open", time.perf_counter() - started)

    async def save_notebook(self) -> None:
        self.saves += 1
        body = {"type": "notebook", "format": "json", "content": notebook(4 + self.saves % 8)}
        await self.call("workspace API", "PUT", f"{self.server}/api/contents/{NOTEBOOK}", (200, 201), json=body)

    async def run_cell(self) -> None:
        await self.kernel.execute(SMALL_CELL)

    async def hub_home(self) -> None:
        await self.call("hub home page", "GET", "/hub/home")

    async def submit_release(self, label: str) -> None:
        """A table written from the kernel to the outbox, then a request made and submitted in the airlock."""
        name = f"counts-{label}.csv"
        await self.kernel.execute(f"open({OUTBOX + '/' + name!r}, 'w').write({aggregate(self.seed)!r})")
        api = f"{AIRLOCK}/api/requests"
        body = {"project": self.project, "title": f"counts by sex ({label})"}
        rid = (await self.call("airlock API", "POST", api, (201,), json=body)).json()["id"]
        group = {"name": "tables", "context": "counts by sex", "controls": "every cell at least 10"}
        await self.call("airlock API", "POST", f"{api}/{rid}/groups", json=group)
        await self.call("airlock API", "POST", f"{api}/{rid}/files", (201,), json={"path": name, "group": "tables"})
        detail = (await self.call("airlock submit", "POST", f"{api}/{rid}/submit")).json()
        if detail.get("state") != "submitted":
            self.tally.error(self.name, f"request {rid} is {detail.get('state')!r} after submitting, not submitted")
            return
        self.tally.submissions[rid] = self.name

    async def work(self, until: float, think_s: tuple[float, float], release_label: str) -> None:
        """Actions in turn with think times until `until`; one release request at a random moment."""
        actions = (
            self.load_lab,
            self.open_notebook,
            self.run_cell,
            self.save_notebook,
            self.hub_home,
            self.open_notebook,
            self.run_cell,
        )
        release_at = time.monotonic() + self.rng.uniform(0, max(0.0, until - time.monotonic()) / 2)
        step = self.rng.randrange(len(actions))
        while time.monotonic() < until:
            try:
                if release_label and time.monotonic() >= release_at:
                    label, release_label = release_label, ""
                    await self.submit_release(label)
                else:
                    await actions[step % len(actions)]()
                    step += 1
            except CallFailed:
                pass  # recorded; the person carries on, as after an error on the page
            except Exception as e:  # noqa: BLE001 - an answer not as expected (not JSON, a field missing)
                self.tally.error(self.name, f"{type(e).__name__}: {e}")
            await asyncio.sleep(self.rng.uniform(*think_s))

    async def finish(self) -> None:
        """Stop the output, shut the kernel down (its websocket read to the end)."""
        try:
            if self.kernel is not None:
                if self.kernel.reader is not None:
                    try:
                        await self.kernel.execute(STOP_STREAMING, "kernel execute")
                    except CallFailed:
                        pass
                await self.kernel.close()
        except Exception as e:  # noqa: BLE001 - recorded; the others still finish
            self.tally.error(self.name, f"closing the notebook: {type(e).__name__}: {e}")
        finally:
            await self.close()


class Reviewer(Person):
    """Polls the airlock's queue, opens each request it has not voted on and approves it."""

    def __init__(self, base, ssl_context, name, password, tally, poll_s: float = 2.0):
        super().__init__(base, ssl_context, name, password, tally)
        self.poll_s = poll_s
        self.voted: set[str] = set()

    async def review(self, stop: asyncio.Event) -> None:
        api = f"{AIRLOCK}/api/requests"
        while not stop.is_set():
            try:
                queue = (await self.call("airlock API", "GET", f"{api}?view=queue")).json()["requests"]
                for request in queue:
                    rid = request["id"]
                    if rid in self.voted:
                        continue
                    self.voted.add(rid)  # one attempt each: a vote that failed is an error, not retried
                    await self.call("airlock API", "GET", f"{api}/{rid}")
                    await self.call("airlock vote", "POST", f"{api}/{rid}/votes", json={"decision": "approve"})
                    self.tally.votes.add((rid, self.name))
            except CallFailed:
                pass
            except Exception as e:  # noqa: BLE001 - an answer not as expected (not JSON, a field missing)
                self.tally.error(self.name, f"{type(e).__name__}: {e}")
            try:
                await asyncio.wait_for(stop.wait(), self.poll_s)
            except TimeoutError:
                pass
