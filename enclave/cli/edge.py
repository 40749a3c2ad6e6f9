"""`enclave edge serve|cert`: the public HTTPS entrance and its certificate."""

from __future__ import annotations

import sys

from ..errors import EnclaveError
from ..settings import EnclaveSettings


def _serve(args) -> int:
    try:
        from ..edge.serve import main
    except ImportError as missing:
        # The edge meters what it relays; without the meter it must not run at all.
        print(f"enclave: the edge cannot start without its metering ({missing}); it stays closed.", file=sys.stderr)
        return 3
    main(EnclaveSettings())
    return 0


def _cert(args) -> int:
    from ..edge.tls import certificate_for, describe, make_self_signed, subject_names

    settings = EnclaveSettings()
    settings.prepare_state_dir()
    if args.renew:
        if settings.tls_cert:
            raise EnclaveError("tls_cert is set: the operator's own certificate is renewed by the operator.")
        make_self_signed(settings.tls_dir, subject_names(settings))
    chosen = certificate_for(settings)
    print(describe(chosen))
    if chosen.self_signed:
        print(
            "Browsers will warn that this certificate is self-signed; give it to clients to trust "
            "(for example curl --cacert), or set tls_cert and tls_key to your own."
        )
    return 0


def serve_command() -> int:
    """`python -m enclave.edge`."""
    return _serve(None)


def register_edge(groups) -> None:
    p = groups.add_parser("edge", help="the public HTTPS entrance in front of the hub")
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("serve", help="run the edge on public_ip:public_port (HTTPS) in the foreground")
    s.set_defaults(func=_serve)
    c = sub.add_parser("cert", help="show the edge's certificate, making the self-signed one if missing")
    c.add_argument("--renew", action="store_true", help="make a new self-signed certificate")
    c.set_defaults(func=_cert)


REGISTRARS = [register_edge]
