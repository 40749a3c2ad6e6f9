"""Start the airlock: settings → database (alembic upgrade head) → staging
sweep → services → web app on the hub-given URL."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

from jupyterhub.services.auth import HubOAuth
from sqlalchemy import select
from tornado.ioloop import IOLoop
from traitlets import Unicode
from traitlets.config import Application

from .checks.types import ChecksConfig
from .config import EgressReview
from .notify import AirlockNotifications
from .services import Airlock, AirlockContext
from .staging import StagingLimits, StagingStore
from .storage.db import Database
from .storage.forwarding import AuditForwarder
from .storage.models import StagedFile

log = logging.getLogger("egress_review")


def read_or_create_secret(path: Path) -> bytes:
    """The cookie secret in `path`, made once and kept: folder 0700, file 0600, its content written to a
    private file beside it and linked into place, so a racing start reads the same secret, never a part.
    Identical in behaviour to enclave.secret_files.read_or_create (which this package may not import);
    tests/unit/test_secret_files.py checks both."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)  # fails if the file appeared meanwhile: the first one stays
        except FileExistsError:
            pass
    finally:
        os.unlink(partial)
    return path.read_bytes().strip()


def build_directory(cfg: EgressReview, parent):
    cls = cfg.project_directory_class
    try:
        return cls(parent=parent)  # a traitlets Configurable
    except TypeError:
        try:
            return cls(outbox_root=Path(cfg.outbox_root))
        except TypeError:
            return cls()


def sweep_staging(db: Database, staging: StagingStore) -> None:
    """Remove what a crash may have left: temp files and unreferenced blobs."""
    with db.read() as session:
        referenced = set(session.execute(select(StagedFile.sha256)).scalars())
    report = staging.sweep(referenced)
    if report.temp_removed or report.orphans_removed:
        log.warning(
            "staging sweep removed %d temp file(s) and %d unreferenced blob(s)",
            report.temp_removed,
            report.orphans_removed,
        )


#: Findings kept per check result: enough for every cell of a few columns of a table at the row limit.
FINDINGS_KEPT = 20_000


def build_airlock(cfg: EgressReview, parent=None) -> Airlock:
    Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
    db = Database(cfg.db_url)
    db.upgrade()
    staging = StagingStore(Path(cfg.staging_dir))
    sweep_staging(db, staging)
    ctx = AirlockContext(
        db=db,
        staging=staging,
        directory=build_directory(cfg, parent),
        limits=StagingLimits(max_file_bytes=cfg.max_file_bytes, max_files=cfg.max_files_per_request),
        inputs=cfg.input_limits(),
        checks_config=ChecksConfig(
            max_file_bytes=cfg.max_file_bytes,
            max_table_rows=cfg.max_table_rows,
            small_count_threshold=cfg.small_count_threshold,
            row_match_min_columns=cfg.row_match_min_columns,
            small_counts_flag_zeros=cfg.small_counts_flag_zeros,
            row_match_min_containment=cfg.row_match_min_containment,
            encoded_min_run=cfg.encoded_min_run,
            identifier_transforms=cfg.identifier_transforms,
            # every finding is kept, so reviewers see each flagged cell of a table at the row limit
            max_findings=FINDINGS_KEPT,
        ),
    )
    start_audit_forwarding(cfg, db, parent)
    AirlockNotifications(parent=parent).dispatcher(db, ctx.directory, cfg.base_url).start()
    airlock = Airlock(ctx)
    airlock.releases.resume()  # a request approved just before a crash is released now, not left waiting
    return airlock


def start_audit_forwarding(cfg: EgressReview, db: Database, parent) -> AuditForwarder | None:
    """Forward audit entries to the configured sink: catch up now, then after every commit."""
    if cfg.audit_sink_class is None:
        log.info("no audit forwarding target is configured: audit entries stay in the airlock's own log")
        return None
    forwarder = AuditForwarder(db, cfg.audit_sink_class(parent=parent))
    try:
        caught_up = forwarder.start()
    except Exception:  # the airlock still starts; its entries wait in its own log until the next commit
        log.exception("could not catch up forwarding audit entries to %s", cfg.audit_sink_class.__name__)
    else:
        log.info("audit entries are forwarded to %s (%d caught up)", cfg.audit_sink_class.__name__, caught_up)
    return forwarder


class EgressReviewApp(Application):
    name = "egress-review"
    description = "The enclave's airlock: a JupyterHub service for requesting, reviewing and releasing results."
    classes = [EgressReview, AirlockNotifications, HubOAuth]
    config_file = Unicode("", help="Python config file to load (optional; the hub's environment suffices).").tag(
        config=True
    )
    aliases = {"config": "EgressReviewApp.config_file", "log-level": "Application.log_level"}

    def initialize(self, argv=None):
        super().initialize(argv)
        if self.config_file:
            self.load_config_file(self.config_file)
        logging.basicConfig(level=self.log_level, format="[%(levelname)1.1s %(asctime)s %(name)s] %(message)s")

    def start(self):
        from .web.app import make_app

        cfg = EgressReview(parent=self)
        airlock = build_airlock(cfg, parent=self)
        hub_auth = HubOAuth(parent=self, base_url=cfg.base_url)
        app = make_app(
            airlock,
            hub_auth=hub_auth,
            base_url=cfg.base_url,
            hub_prefix=cfg.hub_prefix,
            cookie_secret=read_or_create_secret(Path(cfg.cookie_secret_file)),
            preview_rows=cfg.preview_rows,
        )
        app.listen(cfg.listen_port, address=cfg.listen_host, xheaders=True)
        log.info("egress-review listening on %s%s", cfg.service_url, cfg.base_url)
        IOLoop.current().start()


main = EgressReviewApp.launch_instance
