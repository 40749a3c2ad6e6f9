"""`enclave`: the operator's command line.

Each subcommand calls a library function in enclave.operations, which raises
an EnclaveError with an explanation on bad input; only this module prints
and chooses the exit code.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import EnclaveError
from . import commands, edge, metering


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="enclave", description="Operate an enclave installation.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    for register in [*commands.REGISTRARS, *metering.REGISTRARS, *edge.REGISTRARS]:
        register(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except EnclaveError as refusal:
        print(f"enclave: {refusal}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
