"""Workspaces the integration and browser tests share: each started once, through the hub, as its user.

A shared workspace is a session fixture, but a test may stop it (a browser
test stops what it started, so the hub's home page is as the next test
expects). Before every test that uses one, it is started again if it is not
running, with a fresh kernel.
"""

from __future__ import annotations

import pytest

from enclave.operations import datasets, people, projects
from tests.support.kernel import KernelSession

SHARED = ("alice_alpha", "carol_alpha", "bob_beta", "ruth_r")
R_PROJECT, R_ANALYST = "rstats", "ruth"  # ruth_r: the shared workspace of the `r` image


class Workspace:
    """A running workspace and a kernel in it, reached through the hub's proxy."""

    def __init__(self, enclave, user: str, project: str):
        self.enclave = enclave
        self.user = enclave.login(user)
        self.project = project
        self.token = self.user.token()
        self.kernel: KernelSession | None = None
        self._started_at: str | None = None  # the hub's start time of the server the kernel lives in
        self.ensure_running()

    def ensure_running(self) -> None:
        """Start the workspace and open a kernel in it, unless both are already up."""
        server = self.user.server(self.project)
        if server and server.get("ready") and self.kernel and server.get("started") == self._started_at:
            return
        self._close_kernel()
        reply = self.user.start(self.project)
        assert reply.status_code in (201, 202) or "already running" in reply.text, reply.text
        self._started_at = self.user.server(self.project)["started"]
        self.kernel = KernelSession(self.user.server_url(self.project), {"Authorization": f"token {self.token}"})

    def stop(self) -> None:
        self._close_kernel()
        self.user.stop(self.project)

    @property
    def container(self):
        self.ensure_running()
        (container,) = self.enclave.containers(kind="workspace", project=self.project, user=self.user.name)
        container.reload()
        return container

    @property
    def ip(self) -> str:
        networks = self.container.attrs["NetworkSettings"]["Networks"]
        (address,) = [n["IPAddress"] for n in networks.values()]
        return address

    def run(self, code: str) -> str:
        return self.kernel.run(code)

    def open_kernel(self, kernelspec: str) -> KernelSession:
        """A new kernel of another kernelspec (e.g. "ir", R's) in this workspace; the caller closes it."""
        self.ensure_running()
        headers = {"Authorization": f"token {self.token}"}
        return KernelSession(self.user.server_url(self.project), headers, kernel_name=kernelspec)

    def close(self) -> None:
        self._close_kernel()

    def _close_kernel(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None


@pytest.fixture(autouse=True)
def _shared_workspaces_running(request):
    """A test that asks for a shared workspace gets it running, even if an earlier test stopped it."""
    for name in SHARED:
        if name in request.fixturenames:
            request.getfixturevalue(name).ensure_running()


@pytest.fixture(scope="session")
def alice_alpha(enclave):
    workspace = Workspace(enclave, "alice", "alpha")
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def carol_alpha(enclave):
    workspace = Workspace(enclave, "carol", "alpha")
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def bob_beta(enclave):
    workspace = Workspace(enclave, "bob", "beta")
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def ruth_r(enclave, r_image):
    """ruth's workspace in a project on the `r` image (R and its kernel beside Python's), with the cohort
    approved. Its `kernel` is a Python one, as in every workspace; `open_kernel("ir")` gives an R one."""
    ctx = enclave.ctx
    projects.create_project(ctx, R_PROJECT, image="r")
    datasets.approve_dataset(ctx, R_PROJECT, "cohort", "v1")
    enclave.passwords[R_ANALYST] = people.add_user(ctx, R_ANALYST, ["analyst"]).initial_password
    people.add_member(ctx, R_PROJECT, R_ANALYST)
    workspace = Workspace(enclave, R_ANALYST, R_PROJECT)
    yield workspace
    workspace.close()
