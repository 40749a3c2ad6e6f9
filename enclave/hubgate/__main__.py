"""`python -m enclave.hubgate`: the hub gate on settings.hub_port, in front of the hub's loopback API."""

from .gate import main

main()
