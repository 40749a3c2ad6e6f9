"""`enclave`: the operator's command line.

Each subcommand calls a library function in enclave.operations, which raises
an EnclaveError with an explanation on bad input; only this module prints
and chooses the exit code:

    0  done
    1  done, and what was checked is not in order (e.g. `audit verify` found edits)
    2  the command line itself is wrong (argparse's usage error)
    3  refused: the enclave said no, and the message says why and what to do

Which installation a command acts on is settled first (installation.py), and
said on stderr.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from ..errors import EnclaveError
from . import backup, commands, db, edge, installation, metering, packages, runtime, volume

REFUSED = 3


def _version() -> str:
    try:
        return version("enclave")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="enclave", description="Operate an enclave installation.")
    parser.add_argument("--version", action="version", version=f"enclave {_version()}")
    parser.set_defaults(installation=installation.USE)
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    for register in [
        *commands.REGISTRARS,
        *metering.REGISTRARS,
        *edge.REGISTRARS,
        *runtime.REGISTRARS,
        *backup.REGISTRARS,
        *db.REGISTRARS,
        *volume.REGISTRARS,
        *packages.REGISTRARS,
    ]:
        register(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.installation != installation.NONE:
            found = installation.find(args.installation)
            print(f"enclave: {found.describe()}", file=sys.stderr)
        return args.func(args) or 0
    except EnclaveError as refusal:
        print(f"enclave: {refusal}", file=sys.stderr)
        return REFUSED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
