"""What every enclave spawner shares, on one host or on a swarm.

The operator decides everything about a workspace, so there is no options
form and any options a request carries are dropped; workspaces are reached
at their own address on their network; each spawner reads the installation's
settings and state and audits as the person whose workspace it is.

`start()` and `stop()` are written once here: plan, isolate and configure
(a refusal is audited and answered 403, nothing created), start, answer the
hub's first readiness check, audit. Each spawner fills in the hooks
(`_isolate`, `_configure`, `_check_started`, `_workload`,
`_started_details`), as dockerspawner's SwarmSpawner overrides only hooks of
DockerSpawner.
"""

from __future__ import annotations

import asyncio

import docker
from tornado import web
from traitlets import default

from ..errors import EnclaveError, SpawnRefused
from ..images.catalog import image_tag
from ..settings import EnclaveSettings
from ..state import audit
from ..state.db import open_state_db
from .plan import WorkspacePlan, plan_workspace


class EnclaveSpawnerMixin:
    """Mixed in before a DockerSpawner class (EnclaveSpawner, EnclaveSwarmSpawner)."""

    @default("options_form")
    def _default_options_form(self) -> str:
        return ""  # nothing for users to choose: the operator fixes the image and limits

    @default("use_internal_ip")
    def _default_use_internal_ip(self) -> bool:
        return True

    @default("object_name")
    def _object_name_default(self) -> str:
        return f"{self.settings.instance}-ws-{self.name or 'none'}-{self.user.name}"

    def options_from_form(self, formdata):
        return {}

    def _drop_user_options(self) -> None:
        if self.user_options:
            # Nothing is the user's to choose; the hub may also replay options saved from an
            # earlier request, so they are dropped rather than refused.
            self.log.warning("Ignoring user options %s for %s", sorted(self.user_options), self._log_name)
            self.user_options = {}

    @staticmethod
    def _require_image(client: docker.DockerClient, kind: str, where: str) -> str:
        """The image's current tag; refuse the spawn clearly if it is not built (images are never pulled)."""
        image = image_tag(kind)
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            raise SpawnRefused(f"The workspace image {image} is not built yet. An operator runs {where}.") from None
        return image

    @property
    def settings(self) -> EnclaveSettings:
        if not hasattr(self, "_settings"):
            self._settings = EnclaveSettings(parent=self)
        return self._settings

    @property
    def state(self):
        return open_state_db(self.settings.database_url)

    def _audit(self, action: str, outcome: str, details: dict) -> None:
        with self.state.transaction() as session:
            audit.record(
                session,
                actor=self.user.name,
                action=action,
                target=f"{self.name}/{self.user.name}",
                outcome=outcome,
                details=details,
            )

    async def _until_listening(self, ip: str, port: int) -> None:
        """Wait (briefly polling) until the server accepts connections.

        The hub's own readiness check backs off exponentially (0.2, 0.4, 0.8 ... s)
        and so adds up to seconds after the server is already up; answering its
        first check shortens spawn-to-ready without skipping the hub's check.
        """
        loop = asyncio.get_running_loop()
        deadline, next_poll = loop.time() + self.http_timeout, loop.time() + 1
        while loop.time() < deadline:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout=1)
                writer.close()
                return
            except (TimeoutError, OSError):
                await asyncio.sleep(0.05)
            if loop.time() > next_poll:
                if await self.poll() is not None:
                    return  # the container exited: the hub reports why
                next_poll = loop.time() + 1

    # Hooks each spawner fills in.

    def _isolate(self, plan: WorkspacePlan):
        """Check the image and put the workspace's network isolation in place (blocking calls).

        Returns what `_configure` needs about the network; raises an EnclaveError to refuse the spawn.
        """
        raise NotImplementedError

    def _configure(self, plan: WorkspacePlan, isolation) -> None:
        """Set the base spawner's traits for this workspace from the plan and its isolation."""
        raise NotImplementedError

    def _check_started(self) -> None:
        """A last check once the workspace runs, before it is reported ready (blocking calls); raise to fail."""

    def _workload(self) -> dict:
        """What runs the workspace, as named in its audit events (its container or service)."""
        raise NotImplementedError

    def _started_details(self, plan: WorkspacePlan) -> dict:
        """The audit details of a successful start."""
        raise NotImplementedError

    # The template.

    async def start(self):
        self._drop_user_options()
        try:
            plan = await asyncio.to_thread(plan_workspace, self.state, self.settings, self.user.name, self.name)
            isolation = await asyncio.to_thread(self._isolate, plan)
            self._configure(plan, isolation)
        except EnclaveError as refusal:
            self._audit("workspace.start", "refused", {"reason": str(refusal)})
            raise web.HTTPError(403, str(refusal)) from None
        try:
            result = await super().start()
            await asyncio.to_thread(self._check_started)
            await self._until_listening(*result)
        except Exception as failure:
            self._audit("workspace.start", "error", {**self._workload(), "error": str(failure)[:500]})
            raise
        self._audit("workspace.start", "ok", self._started_details(plan))
        return result

    async def stop(self, now: bool = False):
        await super().stop(now=now)
        self._audit("workspace.stop", "ok", self._workload())
