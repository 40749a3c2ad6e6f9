"""Server-side lockdown of the workspace's Jupyter server: routes that hand file bytes to a browser are closed.

Installed root-owned under /opt/enclave/python and enabled by
/etc/jupyter/jupyter_server_config.d/enclave_lockdown.json. It is defence in
depth only: the analyst controls this container, so the controls that matter
sit outside it (issue 4, edge enforcement and metering).

What it does:
- answers 403 on every route that serves a file, a rendered file or a proxied
  web app: /files/, /view/, /nbconvert/ and /proxy/ (the operator's declared
  jupyter-server-proxy apps live at /<name>/ and are untouched);
- ``LockedContentsManager`` refuses the content of any non-notebook file
  larger than ``max_file_content_bytes`` through the contents API. Listings,
  notebooks and small text files (the editor) keep working;
- makes the server process not dumpable before it serves anything (see
  ``make_undumpable``): its kernels run the analyst's code as the same uid.
"""

from __future__ import annotations

import ctypes
import json

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Integer

# Route prefixes (under the server's base URL) that return file bytes or proxied apps.
CLOSED_PREFIXES = ("files", "view", "nbconvert", "proxy")
CLOSED_MESSAGE = "This route is closed in the enclave: results leave through the airlock."


class RouteClosedHandler(web.RequestHandler):
    """Refuses every method, authenticated or not, before any other work is done."""

    def prepare(self):
        self.set_status(403)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": CLOSED_MESSAGE, "reason": None}))


class LockedContentsManager(AsyncLargeFileManager):
    """The default contents manager, except that large non-notebook file content is refused."""

    max_file_content_bytes = Integer(
        64 * 1024,
        config=True,
        help="Largest non-notebook file (in bytes) whose content the contents API returns. Default 64 KiB.",
    )

    async def get(self, path, content=True, type=None, format=None, require_hash=False):
        if content:
            # Refuse before reading when the size is already known to be too large...
            head = await super().get(path, content=False, type=type, format=format)
            self._check(head, head.get("size"))
        model = await super().get(path, content=content, type=type, format=format, require_hash=require_hash)
        if content and model.get("type") == "file" and model.get("content") is not None:
            # ...and check what was actually read (a symlink's lstat size, or a file that grew meanwhile).
            data = model["content"]
            size = len(data) * 3 // 4 if model.get("format") == "base64" else len(data.encode())
            self._check(model, size)
        return model

    def _check(self, model: dict, size: int | None) -> None:
        if model.get("type") == "file" and size is not None and size > self.max_file_content_bytes:
            raise web.HTTPError(
                403,
                f"Files larger than {self.max_file_content_bytes} bytes cannot be opened in the browser "
                "in the enclave: read them from a notebook, and export results through the airlock.",
            )


PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4


def make_undumpable() -> None:
    """Put the server's memory, environment and descriptors out of reach of its own kernels.

    Kernels run the analyst's code as the server's uid. Without this, a kernel could write the
    server's /proc/<pid>/mem (no Yama here, and seccomp cannot filter an open()) and answer any
    route as the server. The kernel grants ptrace-class access to a process that is not dumpable
    only with CAP_SYS_PTRACE, which nobody in a workspace has; /proc/<pid>/{mem,environ,fd,...}
    become root's. The flag is per process and execve resets it, so kernels stay as they are.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 or libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise RuntimeError(
            f"enclave_lockdown: the server could not make itself undumpable (errno {ctypes.get_errno()})"
        )


def _jupyter_server_extension_points():
    return [{"module": "enclave_lockdown"}]


def _load_jupyter_server_extension(serverapp):
    make_undumpable()  # first: a failure stops the server (reraise_server_extension_failures)
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    pattern = url_path_join(base_url, rf"/(?:{'|'.join(CLOSED_PREFIXES)})(?:/.*)?")
    web_app.add_handlers(".*", [(pattern, RouteClosedHandler)])
    # add_handlers puts the new rule just before the server's own handlers, but after rules that
    # extensions loaded earlier added (jupyter-server-proxy's /proxy/<port>): move it to the front.
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(-2))
    if not isinstance(serverapp.contents_manager, LockedContentsManager):
        raise RuntimeError("enclave_lockdown: ServerApp.contents_manager_class must be LockedContentsManager")
    serverapp.log.info(
        "enclave_lockdown: closed %s under %s; server not dumpable", ", ".join(CLOSED_PREFIXES), base_url
    )
