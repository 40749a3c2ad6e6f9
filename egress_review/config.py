"""Settings of the airlock service (traitlets).

Every computed default reads the environment JupyterHub gives a managed
service (JUPYTERHUB_SERVICE_URL, JUPYTERHUB_SERVICE_PREFIX, JUPYTERHUB_BASE_URL,
...), so the hub can start the service with no config file. Operators may
also pass ``--config egress_review_config.py`` or ``--EgressReview.<name>=``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from traitlets import Bool, Float, Integer, TraitError, Type, Unicode, default, validate
from traitlets.config import Configurable

from .directory import DenyAllDirectory
from .domain.limits import InputLimits

SERVICE_NAME = "egress-review"


class EgressReview(Configurable):
    service_name = Unicode(
        SERVICE_NAME, help="Name of the JupyterHub service (default 'egress-review', or $JUPYTERHUB_SERVICE_NAME)."
    ).tag(config=True)

    @default("service_name")
    def _default_service_name(self):
        return os.environ.get("JUPYTERHUB_SERVICE_NAME", SERVICE_NAME)

    service_url = Unicode(
        help="URL the service listens on (default $JUPYTERHUB_SERVICE_URL, else http://127.0.0.1:10101)."
    ).tag(config=True)

    @default("service_url")
    def _default_service_url(self):
        return os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")

    @validate("service_url")
    def _validate_service_url(self, proposal):
        url = urlparse(proposal.value)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise TraitError(f"service_url must be an http(s) URL with a host, not {proposal.value!r}")
        return proposal.value

    base_url = Unicode(
        help="URL prefix the service is proxied under "
        "(default $JUPYTERHUB_SERVICE_PREFIX, else /services/egress-review/)."
    ).tag(config=True)

    @default("base_url")
    def _default_base_url(self):
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{self.service_name}/")

    @validate("base_url")
    def _validate_base_url(self, proposal):
        value = "/" + proposal.value.strip("/") + "/"
        return value.replace("//", "/")

    hub_prefix = Unicode(
        help="URL prefix of the hub's own pages, used for its stylesheet and links "
        "(default $JUPYTERHUB_BASE_URL + 'hub/', else /hub/)."
    ).tag(config=True)

    @default("hub_prefix")
    def _default_hub_prefix(self):
        base = os.environ.get("JUPYTERHUB_BASE_URL", "/")
        return base.rstrip("/") + "/hub/"

    data_dir = Unicode(
        help="Folder for the database, staging and the cookie secret "
        "(default $EGRESS_REVIEW_DATA_DIR, else /srv/egress-review)."
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self):
        return os.environ.get("EGRESS_REVIEW_DATA_DIR", "/srv/egress-review")

    db_url = Unicode(
        help="SQLAlchemy URL of the airlock database (default SQLite in data_dir). "
        "PostgreSQL: postgresql+psycopg://user@host/db."
    ).tag(config=True)

    @default("db_url")
    def _default_db_url(self):
        return f"sqlite:///{Path(self.data_dir) / 'egress-review.sqlite'}"

    @validate("db_url")
    def _validate_db_url(self, proposal):
        if not proposal.value.startswith(("sqlite", "postgresql")):
            raise TraitError("db_url must be a SQLite or PostgreSQL SQLAlchemy URL")
        return proposal.value

    staging_dir = Unicode(help="Content-addressed staging folder (default data_dir/staging).").tag(config=True)

    @default("staging_dir")
    def _default_staging_dir(self):
        return str(Path(self.data_dir) / "staging")

    cookie_secret_file = Unicode(
        help="File holding the secret that signs this service's cookies; created (mode 0600) if missing "
        "(default data_dir/cookie_secret)."
    ).tag(config=True)

    @default("cookie_secret_file")
    def _default_cookie_secret_file(self):
        return str(Path(self.data_dir) / "cookie_secret")

    max_file_bytes = Integer(16 * 1024 * 1024, help="Largest file a request may hold, in bytes (default 16 MiB).").tag(
        config=True
    )
    max_files_per_request = Integer(50, help="Most files one request may hold (default 50).").tag(config=True)
    max_table_rows = Integer(5000, help="Most rows a released table may have (default 5000).").tag(config=True)
    small_count_threshold = Integer(
        10, help="Counts n with 0 < n < this are flagged by the small-counts check (default 10)."
    ).tag(config=True)
    row_match_min_columns = Integer(
        3, help="A table row matching cohort data on at least this many columns is row-level data (default 3)."
    ).tag(config=True)
    small_counts_flag_zeros = Bool(
        True,
        help="Flag zero cells of frequency tables, as ACRO does by default (zeros_are_disclosive): a zero says "
        "nobody in a group has an attribute. Flags never block; turn off only if reviewers judge zeros "
        "otherwise (default True).",
    ).tag(config=True)
    row_match_min_containment = Float(
        0.5,
        help="Share of an output column's distinct values that must be values of a cohort column for the "
        "row-level check to pair them by value, whatever their names (default 0.5).",
    ).tag(config=True)
    encoded_min_run = Integer(
        256,
        help="Characters of base64/hex in one run (of high entropy) that block as an encoded payload (default 256).",
    ).tag(config=True)
    identifier_transforms = Bool(
        True,
        help="Also find participant identifiers in hexadecimal, with separators, reversed, zero-padded, "
        "scaled or offset by a constant (default True).",
    ).tag(config=True)

    @validate("row_match_min_containment")
    def _validate_containment(self, proposal):
        if not 0 < proposal.value <= 1:
            raise TraitError(f"row_match_min_containment must be in (0, 1], not {proposal.value}")
        return proposal.value

    preview_rows = Integer(
        5000,
        help="Rows of a table shown to reviewers on the request page (default 5000, the row limit: "
        "reviewers see every row of a table that can be released).",
    ).tag(config=True)

    # What analysts type or create is shown back by the pages and the API: every kind is capped
    # (docs/analysts.md, "Limits"). Defaults: egress_review.domain.limits.InputLimits.
    max_title_chars = Integer(InputLimits.title_chars, help="Longest request title, in characters (default 200).").tag(
        config=True
    )
    max_name_chars = Integer(InputLimits.name_chars, help="Longest group name, in characters (default 100).").tag(
        config=True
    )
    max_description_chars = Integer(
        InputLimits.description_chars,
        help="Longest context, and longest controls, of a group, in characters (default 4000).",
    ).tag(config=True)
    max_note_chars = Integer(
        InputLimits.note_chars,
        help="Longest file note, comment, vote reason or operator's reason, in characters (default 2000).",
    ).tag(config=True)
    max_path_chars = Integer(
        InputLimits.path_chars, help="Longest path of a file relative to the outbox, in characters (default 200)."
    ).tag(config=True)
    max_groups_per_request = Integer(
        InputLimits.groups_per_request, help="Most groups one request may have (default 20)."
    ).tag(config=True)
    max_open_requests = Integer(
        InputLimits.open_requests_per_person,
        help="Most open requests (draft, submitted, changes requested, approved) one person may have (default 20).",
    ).tag(config=True)
    max_comments_per_request = Integer(
        InputLimits.comments_per_person_per_request,
        help="Most comments one person may write on one request (default 100).",
    ).tag(config=True)

    def input_limits(self) -> InputLimits:
        return InputLimits(
            title_chars=self.max_title_chars,
            name_chars=self.max_name_chars,
            description_chars=self.max_description_chars,
            note_chars=self.max_note_chars,
            path_chars=self.max_path_chars,
            groups_per_request=self.max_groups_per_request,
            open_requests_per_person=self.max_open_requests,
            comments_per_person_per_request=self.max_comments_per_request,
        )

    @validate(
        "max_file_bytes",
        "max_files_per_request",
        "max_table_rows",
        "small_count_threshold",
        "preview_rows",
        "row_match_min_columns",
        "encoded_min_run",
        "max_title_chars",
        "max_name_chars",
        "max_description_chars",
        "max_note_chars",
        "max_path_chars",
        "max_groups_per_request",
        "max_open_requests",
        "max_comments_per_request",
    )
    def _validate_positive(self, proposal):
        if proposal.value < 1:
            raise TraitError(f"{proposal.trait.name} must be at least 1, not {proposal.value}")
        return proposal.value

    project_directory_class = Type(
        DenyAllDirectory,
        klass=object,
        help="Class giving project membership, status, approvals required and outbox paths "
        "(an egress_review.integration.ProjectDirectory), named by the host's hub service definition; "
        "the default knows no project, so nobody can request (fail closed).",
    ).tag(config=True)

    audit_sink_class = Type(
        None,
        klass=object,
        allow_none=True,
        help="Class receiving every audit entry after it commits, in order, exactly once "
        "(an egress_review.integration.AuditSink), named by the host's hub service definition (the "
        "enclave's makes its audit log the one log); the default, none, keeps the airlock's own log only.",
    ).tag(config=True)

    outbox_root = Unicode(
        help="Host folder holding outboxes as <outbox_root>/<project>/<user> (default $ENCLAVE_OUTBOX_ROOT, "
        "else /srv/enclave/outboxes); passed to the project directory when it accepts it."
    ).tag(config=True)

    @default("outbox_root")
    def _default_outbox_root(self):
        return os.environ.get("ENCLAVE_OUTBOX_ROOT", "/srv/enclave/outboxes")

    @property
    def listen_host(self) -> str:
        return urlparse(self.service_url).hostname or "127.0.0.1"

    @property
    def listen_port(self) -> int:
        url = urlparse(self.service_url)
        return url.port or (443 if url.scheme == "https" else 80)
