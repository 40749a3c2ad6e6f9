"""Starting Hail once per process, with its temporary files and logs outside the repository.

Hail's JVM takes about ten seconds to start, so every caller in a process
shares one session. Hail, PySpark and Java come with the optional extra
`genomics` and scripts/ensure-java.sh.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import InvalidState

_session_dir: Path | None = None


def init_hail(work_dir: Path | None = None):
    """Return the `hail` module, started (once) with temp files and the log under `work_dir`
    (default: a new folder in the system's temporary directory)."""
    global _session_dir
    try:
        import hail as hl
    except ImportError:
        raise InvalidState(
            "Hail is not installed on this host. Install the genomics extra "
            "(`make venv`, or `.venv/bin/pip install -e '.[genomics]'`) and Java "
            "(`bash scripts/ensure-java.sh`)."
        ) from None
    if _session_dir is not None:
        return hl
    if shutil.which("java") is None:
        raise InvalidState("Hail needs a Java runtime and `java` is not on PATH: run `bash scripts/ensure-java.sh`.")
    if work_dir:
        base = Path(work_dir)
    else:
        base = Path(tempfile.mkdtemp(prefix="enclave-hail-"))
        atexit.register(shutil.rmtree, base, ignore_errors=True)
    # Spark's local driver would otherwise bind to the host's public address.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for sub in ("tmp", "local", "spark"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    hl.init(
        master="local[2]",
        tmp_dir=str(base / "tmp"),
        local_tmpdir=str(base / "local"),
        log=str(base / "hail.log"),
        quiet=True,
        idempotent=True,
        spark_conf={"spark.local.dir": str(base / "spark"), "spark.ui.enabled": "false"},
    )
    _session_dir = base
    return hl
