"""Operator settings for one enclave installation.

Every setting is a trait with a help string. Defaults come from ENCLAVE_*
environment variables where noted, so `make up`, the tests and the hub's
configuration file all read the same values without a config file.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from traitlets import Bool, Enum, Float, Integer, List, Unicode, default, validate
from traitlets.config import Configurable

from .closed_routes import CLOSED_ROUTES

MIB = 1024 * 1024
DEFAULT_UPLOAD_MAX_BYTES = MIB  # a file uploaded through the browser (the edge's inbound cap)
DEFAULT_REQUEST_BODY_MAX_BYTES = 32 * MIB  # any request body to a workspace (notebook saves)
DEFAULT_STATIC_CACHE = "/var/cache/enclave/static"  # the edge's copies of the images' static files
_INSTANCE_RE = re.compile(r"^[a-z][a-z0-9-]{1,23}$")
SPARK_UI_APP = "spark-ui"  # declared in images/genomics/etc/jupyter; served at /user/<u>/<project>/spark-ui/


def _checked_app_names(names: list[str]) -> list[str]:
    for name in names:
        if not re.match(r"^[a-z][a-z0-9_-]{0,62}$", name) or name in CLOSED_ROUTES or name in ("api", "lab"):
            raise ValueError(
                f"edge_declared_apps: {name!r} is not a usable app name: use lower-case letters, "
                "digits, '_' and '-', and not a route of Jupyter's own (api, lab, files, proxy, ...)"
            )
    return list(names)


def _env(name: str, fallback: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or fallback


class EnclaveSettings(Configurable):
    state_dir = Unicode(
        help="Folder holding all state of this installation: the databases, project "
        "folders, homes and registered demo data. Default: $ENCLAVE_STATE_DIR or "
        "/var/lib/enclave.",
    ).tag(config=True)

    @default("state_dir")
    def _default_state_dir(self) -> str:
        return _env("ENCLAVE_STATE_DIR", "/var/lib/enclave")

    @validate("state_dir")
    def _absolute_state_dir(self, proposal) -> str:
        return str(Path(proposal["value"]).expanduser().resolve())

    instance = Unicode(
        help="Name prefixed to every Docker object this installation creates "
        "(networks, containers), so that several installations or test runs can share "
        "one engine. Lower-case letters, digits and '-'. Default: $ENCLAVE_INSTANCE or 'enclave'.",
    ).tag(config=True)

    @default("instance")
    def _default_instance(self) -> str:
        return _env("ENCLAVE_INSTANCE", "enclave")

    @validate("instance")
    def _check_instance(self, proposal) -> str:
        value = proposal["value"]
        if not _INSTANCE_RE.match(value):
            raise ValueError(
                f"instance {value!r} is not valid: use 2-24 lower-case letters, digits and '-', starting with a letter"
            )
        return value

    database_url = Unicode(
        help="SQLAlchemy URL of the enclave's state database. Default: $ENCLAVE_DB_URL "
        "or a SQLite file enclave.sqlite in the state folder.",
    ).tag(config=True)

    @default("database_url")
    def _default_database_url(self) -> str:
        return _env("ENCLAVE_DB_URL", f"sqlite:///{Path(self.state_dir) / 'enclave.sqlite'}")

    hub_database_url = Unicode(
        help="SQLAlchemy URL of the hub's own database (its sessions, tokens and servers; the enclave's state is "
        "in database_url), e.g. postgresql+psycopg://hub@db/hub so that a replacement hub finds them. "
        "Default: $ENCLAVE_HUB_DB_URL or a SQLite file hub/jupyterhub.sqlite in the state folder.",
    ).tag(config=True)

    @default("hub_database_url")
    def _default_hub_database_url(self) -> str:
        return _env("ENCLAVE_HUB_DB_URL", f"sqlite:///{Path(self.state_dir) / 'hub' / 'jupyterhub.sqlite'}")

    public_ip = Unicode(
        help="Address the enclave's public web entrance listens on. Default: $ENCLAVE_PUBLIC_IP or 0.0.0.0.",
    ).tag(config=True)

    @default("public_ip")
    def _default_public_ip(self) -> str:
        return _env("ENCLAVE_PUBLIC_IP", "0.0.0.0")

    public_port = Integer(help="Port of the public web entrance. Default: $ENCLAVE_PUBLIC_PORT or 8000.").tag(
        config=True
    )

    @default("public_port")
    def _default_public_port(self) -> int:
        return int(_env("ENCLAVE_PUBLIC_PORT", "8000"))

    hub_port = Integer(
        help="Port of the hub gate (enclave/hubgate), the only host port workspaces may reach: it passes "
        "only the few hub API calls a workspace's server needs to the hub. Default: $ENCLAVE_HUB_PORT or 8081.",
    ).tag(config=True)

    @default("hub_port")
    def _default_hub_port(self) -> int:
        return int(_env("ENCLAVE_HUB_PORT", "8081"))

    hub_internal_port = Integer(
        help="Port of the hub's own API, on loopback only: the hub gate, the airlock and the operator CLI "
        "use it; workspaces never reach it. Default: $ENCLAVE_HUB_INTERNAL_PORT or 8083.",
    ).tag(config=True)

    @default("hub_internal_port")
    def _default_hub_internal_port(self) -> int:
        return int(_env("ENCLAVE_HUB_INTERNAL_PORT", "8083"))

    proxy_api_port = Integer(
        help="Port of the proxy's API, on loopback only. Default: $ENCLAVE_PROXY_API_PORT or 8001.",
    ).tag(config=True)

    @default("proxy_api_port")
    def _default_proxy_api_port(self) -> int:
        return int(_env("ENCLAVE_PROXY_API_PORT", "8001"))

    spawner = Unicode(
        help="How workspaces are started: 'enclave' (containers on this machine) or 'enclave-swarm' "
        "(swarm services on any node of a Docker swarm; the hub then runs in its own container, see "
        "docs/scaling.md). Default: $ENCLAVE_SPAWNER or 'enclave'.",
    ).tag(config=True)

    @default("spawner")
    def _default_spawner(self) -> str:
        return _env("ENCLAVE_SPAWNER", "enclave")

    @validate("spawner")
    def _check_spawner(self, proposal) -> str:
        if proposal["value"] not in ("enclave", "enclave-swarm"):
            raise ValueError(f"spawner {proposal['value']!r} is not known: use 'enclave' or 'enclave-swarm'")
        return proposal["value"]

    idle_timeout = Integer(
        help="Seconds a workspace may stay idle (no activity in its server or kernels) before the idle culler "
        "stops it; a project may set its own ('enclave project idle-timeout'); 0 culls none. "
        "Default: $ENCLAVE_IDLE_TIMEOUT or 14400 (4 hours).",
    ).tag(config=True)

    @default("idle_timeout")
    def _default_idle_timeout(self) -> int:
        return int(_env("ENCLAVE_IDLE_TIMEOUT", "14400"))

    idle_cull_every = Integer(
        help="Seconds between the idle culler's looks at every workspace. Default: $ENCLAVE_IDLE_CULL_EVERY or 60.",
    ).tag(config=True)

    @default("idle_cull_every")
    def _default_idle_cull_every(self) -> int:
        return int(_env("ENCLAVE_IDLE_CULL_EVERY", "60"))

    require_second_factor = Bool(
        help="Every account must log in with a TOTP code: 'enclave user add' enrols one, and an account without "
        "one is refused at login until an operator runs 'enclave user enable-totp'. Relax it only for a demo. "
        "Default: $ENCLAVE_REQUIRE_SECOND_FACTOR (true/false) or true.",
    ).tag(config=True)

    @default("require_second_factor")
    def _default_require_second_factor(self) -> bool:
        value = _env("ENCLAVE_REQUIRE_SECOND_FACTOR", "true").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"ENCLAVE_REQUIRE_SECOND_FACTOR={value!r}: use true or false")
        return value in ("true", "1", "yes")

    allow_unencrypted_state = Bool(
        help="Let the enclave start on a state folder that is not encrypted at rest. A real installation keeps "
        "its state (databases, extracts, staged files, keys) on an encrypted volume ('enclave volume create') and "
        "'enclave up' refuses a plain folder; only a demo or a test may set this. "
        "Default: $ENCLAVE_ALLOW_UNENCRYPTED_STATE (true/false) or false.",
    ).tag(config=True)

    @default("allow_unencrypted_state")
    def _default_allow_unencrypted_state(self) -> bool:
        value = _env("ENCLAVE_ALLOW_UNENCRYPTED_STATE", "false").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"ENCLAVE_ALLOW_UNENCRYPTED_STATE={value!r}: use true or false")
        return value in ("true", "1", "yes")

    egress_port = Integer(
        help="Loopback port of the airlock (egress review) service; the hub proxies it under "
        "/services/egress-review/. Default: $ENCLAVE_EGRESS_PORT or 8082.",
    ).tag(config=True)

    @default("egress_port")
    def _default_egress_port(self) -> int:
        return int(_env("ENCLAVE_EGRESS_PORT", "8082"))

    workspace_mem_limit = Unicode(
        "4G", help="Memory limit of a workspace unless its project overrides it (Docker syntax). Default 4G."
    ).tag(config=True)
    workspace_cpu_limit = Float(
        1.0, help="CPU limit of a workspace (cores) unless its project overrides it. Default 1.0."
    ).tag(config=True)
    workspace_pids_limit = Integer(
        512, help="Maximum number of processes in a workspace unless its project overrides it. Default 512."
    ).tag(config=True)
    workspace_scratch_size = Unicode(
        "2g", help="Size of the workspace's /tmp scratch (tmpfs, counted in its memory). Default 2g."
    ).tag(config=True)

    # --- Metering (enclave/metering): budgets sized to the data ------------------------------------

    metering_days_to_extract = Float(
        help="How many days it must take to carry a project's extracts out through metered channels, "
        "for one person and for all its members together: each project's daily budget per person, and "
        "its daily cap for all members, is the information in its extracts (their compressed size) "
        "divided by this, within metering_budget_floor and metering_budget_ceiling. A project may set "
        "its own (`enclave project budget P --days N`). Default: $ENCLAVE_METERING_DAYS_TO_EXTRACT or 30.",
    ).tag(config=True)

    @default("metering_days_to_extract")
    def _default_metering_days_to_extract(self) -> float:
        return float(_env("ENCLAVE_METERING_DAYS_TO_EXTRACT", "30"))

    @validate("metering_days_to_extract")
    def _positive_days(self, proposal) -> float:
        if not proposal["value"] >= 1:
            raise ValueError("metering_days_to_extract must be at least 1 day")
        return proposal["value"]

    metering_budget_floor = Integer(
        help="The smallest daily budget a project's data can give a person (and its cap for all members): "
        "enough for a working day in JupyterLab (pages, plots, reopened notebooks) on a project whose "
        "extracts are small; also the budget of traffic outside any project (the hub's pages, the "
        "airlock's) and of unknown projects. Default: $ENCLAVE_METERING_BUDGET_FLOOR or 1 MiB (1048576).",
    ).tag(config=True)

    @default("metering_budget_floor")
    def _default_metering_budget_floor(self) -> int:
        return int(_env("ENCLAVE_METERING_BUDGET_FLOOR", str(1024 * 1024)))

    metering_budget_ceiling = Integer(
        help="The largest daily budget a project's data can give a person (and its cap for all members), "
        "however large its extracts: beyond it, more data means more days, not a wider channel. "
        "Default: $ENCLAVE_METERING_BUDGET_CEILING or 64 MiB (67108864).",
    ).tag(config=True)

    @default("metering_budget_ceiling")
    def _default_metering_budget_ceiling(self) -> int:
        return int(_env("ENCLAVE_METERING_BUDGET_CEILING", str(64 * 1024 * 1024)))

    @validate("metering_budget_floor", "metering_budget_ceiling")
    def _positive_budget(self, proposal) -> int:
        if proposal["value"] < 1:
            raise ValueError(f"{proposal['trait'].name} must be at least 1 byte")
        return proposal["value"]

    # --- The edge (enclave/edge): the public HTTPS entrance in front of the hub's proxy -----------

    proxy_port = Integer(
        help="Port of the hub's proxy (configurable-http-proxy), on 127.0.0.1 only: the edge, on "
        "public_ip:public_port, is the only way in. Default: $ENCLAVE_PROXY_PORT or 8002.",
    ).tag(config=True)

    @default("proxy_port")
    def _default_proxy_port(self) -> int:
        return int(_env("ENCLAVE_PROXY_PORT", "8002"))

    tls_cert = Unicode(
        help="The operator's own certificate (PEM, full chain) for the public entrance. Empty: a "
        "self-signed certificate is made in <state_dir>/tls/. Default: $ENCLAVE_TLS_CERT or empty.",
    ).tag(config=True)

    @default("tls_cert")
    def _default_tls_cert(self) -> str:
        return _env("ENCLAVE_TLS_CERT", "")

    tls_key = Unicode(
        help="The private key (PEM) of tls_cert; set both or neither. Default: $ENCLAVE_TLS_KEY or empty.",
    ).tag(config=True)

    @default("tls_key")
    def _default_tls_key(self) -> str:
        return _env("ENCLAVE_TLS_KEY", "")

    tls_names = List(
        Unicode(),
        help="Extra host names or IP addresses the self-signed certificate is made for, besides "
        "localhost, this host's names and addresses and public_ip. Default: $ENCLAVE_TLS_NAMES "
        "(comma-separated) or none.",
    ).tag(config=True)

    @default("tls_names")
    def _default_tls_names(self) -> list[str]:
        return [n.strip() for n in _env("ENCLAVE_TLS_NAMES", "").split(",") if n.strip()]

    edge_declared_apps = List(
        Unicode(),
        help="Names of operator-declared jupyter-server-proxy apps (c.ServerProxy.servers) the edge lets "
        "through at /user/<user>/<project>/<name>/, metered as 'app'. Everything under /proxy/ stays "
        "closed. Default: $ENCLAVE_EDGE_DECLARED_APPS (comma-separated) or 'spark-ui', the Spark "
        "master's page the genomics image declares (images/genomics/etc/jupyter); 'none' for none.",
    ).tag(config=True)

    @default("edge_declared_apps")
    def _default_edge_declared_apps(self) -> list[str]:
        declared = _env("ENCLAVE_EDGE_DECLARED_APPS", SPARK_UI_APP)
        if declared.lower() == "none":
            return []
        return _checked_app_names([n.strip() for n in declared.split(",") if n.strip()])

    @validate("edge_declared_apps")
    def _check_declared_apps(self, proposal) -> list[str]:
        return _checked_app_names(proposal["value"])

    edge_max_file_content_bytes = Integer(
        help="Largest file content (bytes) the edge lets the contents API send to a browser; notebooks "
        "and folder listings are not capped. Default: $ENCLAVE_EDGE_MAX_FILE_CONTENT_BYTES or 65536, "
        "the workspace lockdown's own limit.",
    ).tag(config=True)

    @default("edge_max_file_content_bytes")
    def _default_edge_max_file_content_bytes(self) -> int:
        return int(_env("ENCLAVE_EDGE_MAX_FILE_CONTENT_BYTES", str(64 * 1024)))

    edge_upload_max_bytes = Integer(
        help="Largest file (bytes, decoded) a browser may bring into a workspace: a file written through the "
        "contents API (JupyterLab's upload button, drag and drop, a saved text file), summed over the chunks "
        "of a chunked upload; also the largest single message a browser may send on a websocket. Above it the "
        "edge refuses, audited, and says how data enters (an operator registers it: enclave dataset "
        "register). Default: $ENCLAVE_EDGE_UPLOAD_MAX_BYTES or 1 MiB (1048576).",
    ).tag(config=True)

    @default("edge_upload_max_bytes")
    def _default_edge_upload_max_bytes(self) -> int:
        return int(_env("ENCLAVE_EDGE_UPLOAD_MAX_BYTES", str(DEFAULT_UPLOAD_MAX_BYTES)))

    edge_request_body_max_bytes = Integer(
        help="Largest request body (bytes) the edge passes to a workspace, on any route: notebook saves "
        "(with their outputs), settings, layouts, declared apps. A body without a length is refused. "
        "Default: $ENCLAVE_EDGE_REQUEST_BODY_MAX_BYTES or 32 MiB (33554432).",
    ).tag(config=True)

    @default("edge_request_body_max_bytes")
    def _default_edge_request_body_max_bytes(self) -> int:
        return int(_env("ENCLAVE_EDGE_REQUEST_BODY_MAX_BYTES", str(DEFAULT_REQUEST_BODY_MAX_BYTES)))

    @validate("edge_upload_max_bytes", "edge_request_body_max_bytes")
    def _positive_inbound_cap(self, proposal) -> int:
        if proposal["value"] < 1:
            raise ValueError(f"{proposal['trait'].name} must be at least 1 byte")
        return proposal["value"]

    static_cache_dir = Unicode(
        help="Folder of the edge's copies of the workspace images' static files (JupyterLab's bundle, "
        "kernel logos), one per image tag, made by 'enclave images build' or by the edge on first use; "
        "per machine, like the images. Default: $ENCLAVE_STATIC_CACHE or /var/cache/enclave/static.",
    ).tag(config=True)

    @default("static_cache_dir")
    def _default_static_cache_dir(self) -> str:
        # As images.static_copy.cache_root() finds it without settings.
        return _env("ENCLAVE_STATIC_CACHE", DEFAULT_STATIC_CACHE)

    # Notifications to operators (metering alerts, suspensions) and, through the airlock's service, to
    # reviewers and analysts (enclave/notify.py; docs/operators.md, "Notifications"). No SMTP host and no
    # webhook URL: nothing is sent.
    notify_public_url = Unicode(
        help="The enclave's public address, which links in notifications start with. Default: "
        "$ENCLAVE_NOTIFY_PUBLIC_URL or https://<this host's name>:<public_port>.",
    ).tag(config=True)
    notify_smtp_host = Unicode(help="SMTP server for notifications. Default: $ENCLAVE_NOTIFY_SMTP_HOST or none.").tag(
        config=True
    )
    notify_smtp_port = Integer(help="SMTP port. Default: $ENCLAVE_NOTIFY_SMTP_PORT or 587.").tag(config=True)
    notify_smtp_tls = Enum(
        ("none", "starttls", "tls"),
        help="'starttls', 'tls' (implicit, port 465) or 'none' (a relay on loopback only). "
        "Default: $ENCLAVE_NOTIFY_SMTP_TLS or starttls.",
    ).tag(config=True)
    notify_smtp_sender = Unicode(help="From address of notifications. Default: $ENCLAVE_NOTIFY_SMTP_SENDER.").tag(
        config=True
    )
    notify_smtp_user = Unicode(help="SMTP login, if needed. Default: $ENCLAVE_NOTIFY_SMTP_USER.").tag(config=True)
    notify_smtp_password_file = Unicode(
        help="File holding the SMTP password (mode 0600). Default: $ENCLAVE_NOTIFY_SMTP_PASSWORD_FILE.",
    ).tag(config=True)
    notify_webhook_url = Unicode(
        help="URL receiving each notification as a JSON POST (a chat tool's incoming webhook). "
        "Default: $ENCLAVE_NOTIFY_WEBHOOK_URL or none.",
    ).tag(config=True)

    @default("notify_public_url")
    def _default_notify_public_url(self) -> str:
        return _env("ENCLAVE_NOTIFY_PUBLIC_URL", f"https://{socket.getfqdn()}:{self.public_port}")

    @default("notify_smtp_host")
    def _default_notify_smtp_host(self) -> str:
        return _env("ENCLAVE_NOTIFY_SMTP_HOST", "")

    @default("notify_smtp_port")
    def _default_notify_smtp_port(self) -> int:
        return int(_env("ENCLAVE_NOTIFY_SMTP_PORT", "587"))

    @default("notify_smtp_tls")
    def _default_notify_smtp_tls(self) -> str:
        return _env("ENCLAVE_NOTIFY_SMTP_TLS", "starttls")

    @default("notify_smtp_sender")
    def _default_notify_smtp_sender(self) -> str:
        return _env("ENCLAVE_NOTIFY_SMTP_SENDER", "")

    @default("notify_smtp_user")
    def _default_notify_smtp_user(self) -> str:
        return _env("ENCLAVE_NOTIFY_SMTP_USER", "")

    @default("notify_smtp_password_file")
    def _default_notify_smtp_password_file(self) -> str:
        return _env("ENCLAVE_NOTIFY_SMTP_PASSWORD_FILE", "")

    @default("notify_webhook_url")
    def _default_notify_webhook_url(self) -> str:
        return _env("ENCLAVE_NOTIFY_WEBHOOK_URL", "")

    def prepare_state_dir(self) -> None:
        """Create the state folder readable by root only.

        Workspaces reach their folders through bind mounts made by the Docker
        engine, so nothing below needs to be visible to host accounts (uid
        1000 in a workspace may well be a real person on the host).
        """
        for folder in (self.state_path, self.hub_dir):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)

    @property
    def hub_internal_url(self) -> str:
        """The hub itself, on loopback (its API is under /hub/api): for the gate, the airlock and the CLI."""
        return f"http://127.0.0.1:{self.hub_internal_port}"

    @property
    def hub_dir(self) -> Path:
        """The hub's own files: its database, cookie secret and proxy token."""
        return self.state_path / "hub"

    @property
    def tls_dir(self) -> Path:
        """The edge's self-signed certificate and key, when the operator gives none."""
        return self.state_path / "tls"

    @property
    def projects_dir(self) -> Path:
        return self.state_path / "projects"

    @property
    def datasets_dir(self) -> Path:
        return self.state_path / "datasets"
