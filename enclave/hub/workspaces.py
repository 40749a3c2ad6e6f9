"""Stopping running workspaces at once: through the hub, and then at the engine.

The hub is asked first, so its records stay true. Whatever still runs
afterwards (the hub is down, or a request failed) is removed directly by its
Docker labels: a suspension must never depend on the hub being healthy.
"""

from __future__ import annotations

import time

import docker
import requests

from ..settings import EnclaveSettings
from ..spark.cluster import remove_cluster
from .secrets import operator_token


class HubWorkspaces:
    def __init__(self, settings: EnclaveSettings):
        self.settings = settings
        self.api = f"{settings.hub_internal_url}/hub/api"  # loopback: the gate would refuse these calls

    def _headers(self) -> dict:
        return {"Authorization": f"token {operator_token(self.settings.hub_dir)}"}

    def _stop_through_hub(self, project: str, user: str | None) -> list[str]:
        try:
            users = requests.get(f"{self.api}/users", headers=self._headers(), timeout=5, params={"state": "active"})
        except requests.ConnectionError:
            return []  # hub not running: nothing to tell it
        users.raise_for_status()
        pending, stopped = [], []
        for entry in users.json():
            if user is not None and entry["name"] != user:
                continue
            if project in (entry.get("servers") or {}):
                url = f"{self.api}/users/{entry['name']}/servers/{project}"
                requests.delete(url, headers=self._headers(), timeout=30).raise_for_status()
                pending.append(entry["name"])
                stopped.append(f"{entry['name']}/{project}")
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            time.sleep(0.5)
            pending = [name for name in pending if self._running(name, project)]
        return stopped

    def _running(self, user: str, project: str) -> bool:
        reply = requests.get(f"{self.api}/users/{user}", headers=self._headers(), timeout=5)
        return project in (reply.json().get("servers") or {})

    def _stop_at_engine(self, project: str, user: str | None) -> list[str]:
        labels = [f"enclave.instance={self.settings.instance}", "enclave.kind=workspace", f"enclave.project={project}"]
        if user is not None:
            labels.append(f"enclave.user={user}")
        removed = []
        for container in docker.from_env().containers.list(all=True, filters={"label": labels}):
            container.remove(force=True)
            removed.append(container.name)
        return removed

    def stop(self, project: str, user: str | None = None) -> list[str]:
        """Stop the project's workspaces (one user's, if given); returns what was stopped.

        Stopping a whole project (a suspension, an archive) also removes its Spark cluster:
        nothing of a stopped project keeps running with its data.
        """
        stopped: list[str] = []
        try:
            stopped = self._stop_through_hub(project, user)
        except requests.RequestException:
            pass  # fall through to the engine, which is authoritative
        stopped += self._stop_at_engine(project, user)
        if user is None:
            stopped += remove_cluster(docker.from_env(), self.settings.instance, project)
        return stopped
