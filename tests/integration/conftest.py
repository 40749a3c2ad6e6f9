"""Workspaces the integration tests share: each started once, through the hub, as its user."""

from __future__ import annotations

import pytest

from tests.support.kernel import KernelSession


class Workspace:
    """A running workspace and a kernel in it, reached through the hub's proxy."""

    def __init__(self, enclave, user: str, project: str):
        self.enclave = enclave
        self.user = enclave.login(user)
        self.project = project
        reply = self.user.start(project)
        assert reply.status_code in (201, 202) or "already running" in reply.text, reply.text
        self.token = self.user.token()
        self.kernel = KernelSession(self.user.server_url(project), {"Authorization": f"token {self.token}"})

    @property
    def container(self):
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

    def close(self) -> None:
        self.kernel.close()


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
