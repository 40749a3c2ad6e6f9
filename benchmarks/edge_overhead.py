"""What metering everything at the edge costs: a JupyterLab page load and kernel output, edge against direct.

The same running workspace is reached two ways, with the same person's API token:

- through the edge (https://127.0.0.1:<public port>): TLS, the route allowlist, metering of every
  response (headers included) and of every websocket message, the edge's own static files;
- straight to the hub's proxy (http://127.0.0.1:<proxy port>, loopback, behind the edge).

Page load: the GET requests real Chromium makes to load JupyterLab (/user/<u>/<p>/lab, its scripts,
styles, settings, the file listing, ...) are recorded once through the edge, then replayed by one
HTTP client as a browser with an empty cache would: the page first, then everything else over six
connections. Kernel output: a kernel displays fresh random base64 as image/png outputs, 64 KiB each
(`--kernel-mb` megabytes in all: plots, as far as every relay can tell, and the worst case for the
information measure, which must compress every byte), read as display_data messages over the kernel
websocket, which offers permessage-deflate as Chromium does. Not printed text: jupyter_server limits
stream output to 1 MB/s (iopub_data_rate_limit, over 3 s) and drops the rest, on both sides alike,
which would measure that limit instead of the relays; display data is limited only to 1,000
messages per second. The two sides
take turns in ABBA order, so the machine's noise falls on both alike; the first load of each side
warms its connections and is not counted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import statistics
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from harness.kernel import execute_request

from .table import row

BROWSER_CONNECTIONS = 6  # what Chromium opens per origin over HTTP/1.1
WRITE_RAW_BYTES = 48 * 1024  # random bytes per displayed output; base64 makes 64 KiB


@dataclass(frozen=True)
class Side:
    name: str
    base: str  # the origin: scheme://host:port
    ssl: ssl.SSLContext | bool

    def connector(self) -> aiohttp.TCPConnector:
        return aiohttp.TCPConnector(limit=BROWSER_CONNECTIONS, ssl=self.ssl)


def sides(edge_url: str, ca_file: str, inner_url: str) -> tuple[Side, Side]:
    return Side("edge", edge_url.rstrip("/"), ssl.create_default_context(cafile=ca_file)), Side(
        "direct", inner_url.rstrip("/"), False
    )


def abba(rounds: int, names: tuple[str, str]) -> list[str]:
    """A, B, B, A, A, B, ...: each side goes first as often as the other."""
    order = []
    for i in range(rounds):
        order += list(names if i % 2 == 0 else names[::-1])
    return order


# --- page load -----------------------------------------------------------------------------------


def _load_lab(page, server_url: str) -> None:
    failed = []

    def on_response(response):
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    page.goto(f"{server_url}/lab")
    try:
        page.wait_for_selector(".jp-Launcher", timeout=180_000)
    except Exception as e:  # noqa: BLE001 - say which requests failed: that is why the page did not load
        raise RuntimeError(f"JupyterLab did not load ({type(e).__name__}); failed requests: {failed[:20]}") from None
    finally:
        page.remove_listener("response", on_response)
    try:
        page.wait_for_load_state("networkidle", timeout=30_000)
    except Exception:  # noqa: BLE001 - JupyterLab polls; what it asked for until now is the page load
        pass


def record_lab_requests(page, server_url: str) -> list[str]:
    """The same-origin GETs (path and query) Chromium makes to load JupyterLab, in order, each once.

    The first load (the hub's OAuth exchange with the server, one-time codes) is not recorded:
    the second is what every later visit costs.
    """
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(server_url))
    seen: dict[str, None] = {}

    def on_request(request):
        if request.method == "GET" and request.resource_type != "websocket" and request.url.startswith(origin):
            seen[request.url.removeprefix(origin)] = None

    _load_lab(page, server_url)
    page.on("request", on_request)
    _load_lab(page, server_url)
    page.remove_listener("request", on_request)
    paths = list(seen)
    lab = next((p for p in paths if urlsplit(p).path.endswith("/lab")), None)
    if lab is None:
        raise RuntimeError(f"Chromium never asked for the lab page itself; recorded {paths[:5]}")
    return [lab] + [p for p in paths if p != lab]


async def _get(session: aiohttp.ClientSession, url: str, headers: dict) -> tuple[int, int]:
    async with session.get(url, headers=headers, allow_redirects=False) as response:
        body = await response.read()
        return response.status, len(body)


async def _page_load(session, side: Side, paths: list[str], headers: dict) -> dict:
    started = time.perf_counter()
    first = await _get(session, side.base + paths[0], headers)
    rest = await asyncio.gather(*(_get(session, side.base + p, headers) for p in paths[1:]))
    seconds = time.perf_counter() - started
    statuses = [first[0]] + [s for s, _ in rest]
    return {"seconds": seconds, "bytes": first[1] + sum(n for _, n in rest), "statuses": statuses}


async def page_loads(pair: tuple[Side, Side], paths: list[str], token: str, rounds: int) -> dict:
    """`rounds` loads per side (after one warm-up each), ABBA; p50 per side and their ratio."""
    # Headers like Chromium's, so compression is negotiated as the browser would.
    headers = {
        "Authorization": f"token {token}",
        "Accept-Encoding": "gzip, deflate, br",
        "Accept": "*/*",
        "User-Agent": "enclave-benchmark (Chromium's requests, replayed)",
    }
    sessions = {s.name: aiohttp.ClientSession(connector=s.connector(), auto_decompress=False) for s in pair}
    by_name = {s.name: s for s in pair}
    samples: dict[str, list[float]] = {s.name: [] for s in pair}
    last: dict[str, dict] = {}
    try:
        for side in pair:  # warm-up: connections opened, TLS negotiated, caches of the servers filled
            last[side.name] = await _page_load(sessions[side.name], side, paths, headers)
        for name in abba(rounds, tuple(by_name)):
            load = await _page_load(sessions[name], by_name[name], paths, headers)
            samples[name].append(load["seconds"])
            last[name] = load
    finally:
        for session in sessions.values():
            await session.close()
    result = {"requests": len(paths), "paths": paths, "rounds": rounds}
    for name, values in samples.items():
        result[name] = {
            "p50_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "samples_s": [round(v, 4) for v in values],
            "bytes": last[name]["bytes"],
            "statuses": last[name]["statuses"],
        }
    a, b = pair
    result["ratio_p50"] = result[a.name]["p50_s"] / result[b.name]["p50_s"]
    result["status_differs"] = [
        p for p, x, y in zip(paths, result[a.name]["statuses"], result[b.name]["statuses"], strict=True) if x != y
    ]
    result["failed"] = sorted(
        {
            f"{name}: {p} -> {s}"
            for name in by_name
            for p, s in zip(paths, result[name]["statuses"], strict=True)
            if s >= 400
        }
    )
    return result


# --- kernel output -------------------------------------------------------------------------------


def _output_code(megabytes: float) -> tuple[str, int]:
    """Code displaying `megabytes` of fresh random base64 as image/png outputs; the bytes it displays."""
    displays = max(1, round(megabytes * 1e6 / (WRITE_RAW_BYTES * 4 / 3)))
    code = (
        "import base64, os\n"
        "from IPython.display import display\n"
        f"for _ in range({displays}):\n"
        f"    display({{'image/png': base64.b64encode(os.urandom({WRITE_RAW_BYTES})).decode()}}, raw=True)\n"
    )
    return code, displays * (WRITE_RAW_BYTES * 4 // 3)


class Kernel:
    """One kernel of the workspace, reached through one side, talking the kernel protocol over its websocket."""

    def __init__(self, session: aiohttp.ClientSession, side: Side, server_path: str, headers: dict, deflate: bool):
        self.session, self.side, self.headers, self.offer_deflate = session, side, headers, deflate
        self.api = f"{side.base}{server_path}/api/kernels"
        self.kernel_id = self.ws = None

    async def open(self) -> None:
        async with self.session.post(self.api, json={"name": "python3"}, headers=self.headers) as reply:
            if reply.status != 201:
                raise RuntimeError(
                    f"{self.side.name}: starting a kernel answered {reply.status}: {(await reply.text())[:300]}"
                )
            self.kernel_id = (await reply.json())["id"]
        ws_url = "ws" + self.api.removeprefix("http") + f"/{self.kernel_id}/channels"
        # compress=15 offers permessage-deflate, as Chromium does; whether it was agreed is reported.
        self.ws = await self.session.ws_connect(
            ws_url,
            headers={**self.headers, "Origin": self.side.base},
            compress=15 if self.offer_deflate else 0,
            max_msg_size=0,
        )

    @property
    def deflate(self) -> bool:
        return bool(self.ws is not None and self.ws.compress)

    async def execute(self, code: str) -> dict:
        """Run `code`; the time from sending it until the kernel is idle again, and what came back."""
        msg_id, message = execute_request(code, username="bench")
        started = time.perf_counter()
        await self.ws.send_str(message)
        shown = frames = 0
        error = None
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"{self.side.name}: kernel websocket ended ({frame.type!r}, {frame.data!r})")
            frames += len(frame.data)
            msg = json.loads(frame.data)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "display_data":
                shown += len(content["data"].get("image/png", ""))
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                break
        else:
            raise RuntimeError(f"{self.side.name}: kernel websocket closed ({self.ws.close_code})")
        return {"seconds": time.perf_counter() - started, "shown_bytes": shown, "frame_bytes": frames, "error": error}

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.kernel_id:
            async with self.session.delete(f"{self.api}/{self.kernel_id}", headers=self.headers):
                pass


async def kernel_output(
    pair: tuple[Side, Side], server_path: str, token: str, megabytes: float, rounds: int, deflate: bool = True
) -> dict:
    """`rounds` runs per side (after a small warm-up each), ABBA; MB/s of output per side and their ratio.

    deflate: offer permessage-deflate, as browsers do (False shows what the compression costs).
    """
    headers = {"Authorization": f"token {token}"}
    code, expected = _output_code(megabytes)
    sessions = {s.name: aiohttp.ClientSession(connector=s.connector()) for s in pair}
    kernels = {s.name: Kernel(sessions[s.name], s, server_path, headers, deflate) for s in pair}
    runs: dict[str, list[dict]] = {s.name: [] for s in pair}
    try:
        for kernel in kernels.values():
            await kernel.open()
            await kernel.execute(_output_code(1)[0])  # warm-up: imports, first frames
        for name in abba(rounds, tuple(kernels)):
            run = await kernels[name].execute(code)
            if run["error"] or run["shown_bytes"] != expected:
                raise RuntimeError(
                    f"{name}: the kernel's output did not all arrive ({run['shown_bytes']:,} of "
                    f"{expected:,} bytes; error {run['error']})"
                )
            runs[name].append(run)
        deflate = {name: k.deflate for name, k in kernels.items()}
    finally:
        for kernel in kernels.values():
            try:
                await kernel.close()
            except Exception:  # noqa: BLE001 - best effort: the workspace is stopped at the end anyway
                pass
        for session in sessions.values():
            await session.close()
    result = {"output_bytes_per_run": expected, "rounds": rounds, "permessage_deflate": deflate}
    for name, done in runs.items():
        rates = [r["shown_bytes"] / 1e6 / r["seconds"] for r in done]
        result[name] = {
            "median_mb_per_s": statistics.median(rates),
            "best_mb_per_s": max(rates),
            "samples_mb_per_s": [round(r, 2) for r in rates],
            "frame_bytes_per_run": done[-1]["frame_bytes"],
        }
    a, b = pair
    result["ratio_median"] = result[a.name]["median_mb_per_s"] / result[b.name]["median_mb_per_s"]
    return result


def information_measure_rate(megabytes: float = 16) -> dict:
    """The meter's information measure alone, in this process, on messages like the kernel's: MB/s.

    Says how much of the edge's per-byte cost is the measure itself (one core, no I/O).
    """
    from enclave.metering.information import ReceivedToday, StreamMeasure

    count = max(1, round(megabytes * 1e6 / (WRITE_RAW_BYTES * 4 / 3)))
    messages = [
        json.dumps(
            {
                "header": {"msg_id": uuid.uuid4().hex, "msg_type": "display_data"},
                "content": {
                    "data": {"image/png": base64.b64encode(os.urandom(WRITE_RAW_BYTES)).decode()},
                    "metadata": {},
                },
            }
        ).encode()
        for _ in range(count)
    ]
    measure, received = StreamMeasure(), ReceivedToday()
    started = time.perf_counter()
    for message in messages:
        received.remember(measure.measure(message, received).new_digests)
    seconds = time.perf_counter() - started
    return {"bytes": sum(map(len, messages)), "seconds": seconds, "mb_per_s": sum(map(len, messages)) / 1e6 / seconds}


def overhead_rows(result: dict) -> list[dict]:
    rows = []
    page = result.get("page")
    if page:
        note = f"{page['requests']} requests, {page['edge']['bytes'] / 1e6:.1f} MB, {page['rounds']} loads per side"
        if page["status_differs"]:
            note += f"; answered differently: {', '.join(page['status_differs'][:3])}"
        rows += [
            row("edge: JupyterLab page load p50, through the edge", page["edge"]["p50_s"], "s", note=note),
            row("edge: JupyterLab page load p50, straight to the hub's proxy", page["direct"]["p50_s"], "s"),
            row("edge: page load p50, edge / direct (within 10%)", page["ratio_p50"], "x", "<= 1.1"),
        ]
    kernel = result.get("kernel")
    if kernel:
        rows += [
            row(
                "edge: kernel output through the edge (median)",
                kernel["edge"]["median_mb_per_s"],
                "MB/s",
                note=f"{kernel['output_bytes_per_run'] / 1e6:.0f} MB of random base64 image/png per run, "
                f"{kernel['rounds']} runs per side; permessage-deflate {kernel['permessage_deflate']}",
            ),
            row(
                "edge: kernel output straight to the hub's proxy (median)", kernel["direct"]["median_mb_per_s"], "MB/s"
            ),
            row("edge: kernel output, edge / direct (within 10%)", kernel["ratio_median"], "x", ">= 0.9"),
        ]
    plain = result.get("kernel_no_deflate")
    if plain:
        rows += [
            row(
                "edge: kernel output, no permessage-deflate offered: edge (median)",
                plain["edge"]["median_mb_per_s"],
                "MB/s",
                note="what the edge's own work costs without compressing frames to the browser",
            ),
            row(
                "edge: kernel output, no permessage-deflate offered: direct (median)",
                plain["direct"]["median_mb_per_s"],
                "MB/s",
            ),
            row("edge: kernel output, no permessage-deflate offered: edge / direct", plain["ratio_median"], "x"),
        ]
    measure = result.get("information_measure")
    if measure:
        rows.append(
            row(
                "edge: the information measure alone, same kind of messages, one core",
                measure["mb_per_s"],
                "MB/s",
                note="in the benchmark's process: the meter's share of the edge's per-byte work",
            )
        )
    return rows
