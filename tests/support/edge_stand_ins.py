"""Stand-ins the edge's unit tests put around a real edge: the edge's copy of an image's static files, and a
meter with the streaming API (contract C2) that counts raw bytes against one budget."""

from __future__ import annotations

import json

from enclave.edge.static import StaticAssets
from enclave.images.static_copy import KERNELS, MANIFEST, SERVER_STATIC, copy_folder

IMAGE = "enclave-workspace:0123456789ab"


def static_assets(root) -> StaticAssets:
    """The edge's copy of alpha's image: one server static file and the python3 kernel's logo."""
    copy = copy_folder(root, IMAGE)
    for path, data in (
        (f"{SERVER_STATIC}/x.js", b"from the image"),
        (f"{KERNELS[1]}/python3/kernel.json", b"{}"),
        (f"{KERNELS[1]}/python3/logo-64x64.png", b"\x89PNG logo"),
    ):
        (copy / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (copy / path.lstrip("/")).write_bytes(data)
    (copy / MANIFEST).write_text(json.dumps({"tag": IMAGE}))
    return StaticAssets(root, lambda user, server: IMAGE if server == "alpha" else None)


class BudgetMeter:
    """The meter's streaming API (contract C2), counting raw bytes against one budget for everyone."""

    def __init__(self, budget: int = 10**9, blocked: bool = False):
        self.budget, self.is_blocked, self.counted, self.sent = budget, blocked, [], []

    def stream(self, user, project, channel):
        return RecordingStream(self, user, project, channel)

    def blocked(self, user, project) -> bool:
        return self.is_blocked

    def total(self, user=None, project=None, channel=None) -> int:
        return sum(
            c[2]
            for c in self.counted
            if (user, project, channel) == (user and c[0], project and c[1], channel and c[3])
        )


class RecordingStream:
    def __init__(self, meter: BudgetMeter, user, project, channel):
        self.meter, self.user, self.project, self.channel = meter, user, project, channel

    def send(self, data: bytes) -> bool:
        if self.meter.is_blocked:
            return False
        self.meter.counted.append((self.user, self.project, len(data), self.channel))
        self.meter.sent.append(bytes(data))
        return sum(c[2] for c in self.meter.counted) <= self.meter.budget
