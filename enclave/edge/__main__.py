"""`python -m enclave.edge`: the same as `enclave edge serve`."""

import sys

from ..cli.edge import serve_command

sys.exit(serve_command())
