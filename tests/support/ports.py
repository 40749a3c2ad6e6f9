"""A free TCP port on loopback, for the servers tests start themselves (stand-in hubs, upstreams, PostgreSQL):
the harness's, so that tests and benchmarks pick ports one way."""

from __future__ import annotations

from harness.enclave import free_port

__all__ = ["free_port"]
