"""Stand-ins for the hub where a test has none."""

from __future__ import annotations


class RecordingWorkspaces:
    """Records which workspaces were asked to stop (the WorkspaceControl the hub implements)."""

    def __init__(self):
        self.stopped: list[tuple[str, str | None]] = []

    def stop(self, project, user=None):
        self.stopped.append((project, user))
        return []
