"""Use cases of the airlock: requests (analysts), reviews (reviewers and
operators), releases (download, revoke). ``Airlock`` bundles them over one
``AirlockContext``; web handlers call nothing else."""

from __future__ import annotations

from .context import AirlockContext, ChecksRunner, default_checks_runner
from .releases import ReleaseService
from .requests import RequestService
from .reviews import ReviewService


class Airlock:
    def __init__(self, ctx: AirlockContext):
        self.ctx = ctx
        self.releases = ReleaseService(ctx)
        self.requests = RequestService(ctx)
        self.reviews = ReviewService(ctx, self.releases)


__all__ = ["Airlock", "AirlockContext", "ChecksRunner", "default_checks_runner"]
