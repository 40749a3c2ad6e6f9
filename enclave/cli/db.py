"""`enclave db status|upgrade`: the state database's schema revision, and upgrading it on purpose."""

from __future__ import annotations

from ..atrest.totp_seal import TotpSeal
from ..settings import EnclaveSettings
from ..state import schema
from ..state.db import make_engine


def _status(args):
    engine = make_engine(EnclaveSettings().database_url)
    current, newest = schema.revision_of(engine), schema.head()
    print(
        f"The state database is at revision {current or 'none (made before migrations)'}; this enclave's newest "
        f"is {newest}." + ("" if current == newest else " Back it up, then run 'enclave db upgrade'.")
    )
    return 0 if current == newest else 1


def _upgrade(args):
    settings = EnclaveSettings()
    engine = make_engine(settings.database_url)
    before, after = schema.upgrade(engine, seal_totp=TotpSeal(settings.hub_dir).seal)
    if before == after:
        print(f"The state database is already at revision {after}; nothing to do.")
    else:
        print(f"Upgraded the state database from revision {before or 'none (made before migrations)'} to {after}.")


def register_db(groups):
    p = groups.add_parser("db", help="the state database's schema: its revision, and upgrading it")
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("status", help="the revision it is at and the newest (exit 1 when behind)").set_defaults(
        func=_status
    )
    sub.add_parser(
        "upgrade", help="upgrade it to the newest revision (stop the enclave and back up first)"
    ).set_defaults(func=_upgrade)


REGISTRARS = [register_db]
