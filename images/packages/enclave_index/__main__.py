"""Serve the index: `python -m enclave_index` (the image's command)."""

from __future__ import annotations

import os
import signal
import sys

import waitress

from . import PORT, make_app, roots_from_environment


def main() -> None:
    # PID 1 ignores TERM unless it handles it: stop at once when Docker asks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = make_app(roots_from_environment(), os.environ.get("ENCLAVE_PROJECT", "this project"))
    waitress.serve(app, host="0.0.0.0", port=PORT, threads=4, ident="enclave-packages")


if __name__ == "__main__":
    main()
