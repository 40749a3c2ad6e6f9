#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine: install it from the
# distribution's packages when missing, write its hardened daemon configuration
# (/etc/docker/daemon.json, enclave/engine/daemon_config.py), start the daemon
# when it is not running, and wait until `docker info` answers. Idempotent.
# A running engine is never restarted: the script says what it still lacks.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log_dir="${ENCLAVE_LOG_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/enclave}"
mkdir -p "$log_dir"

# Standard library only, so the system's Python will do before the virtualenv exists.
python_bin="$repo/.venv/bin/python"
[ -x "$python_bin" ] || python_bin="$(command -v python3.11 || command -v python3)"
daemon_config() { PYTHONPATH="$repo" "$python_bin" -m enclave.engine.daemon_config "$@"; }

if docker info >/dev/null 2>&1; then
  daemon_config configure  # and reloads live-restore; says which keys wait for a restart
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "Installing the Docker engine (docker.io) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$log_dir/apt-docker.log" 2>&1
  apt-get install -y -qq --no-install-recommends docker.io iptables >>"$log_dir/apt-docker.log" 2>&1 \
    || { cat "$log_dir/apt-docker.log" >&2; echo "Could not install docker.io: see above." >&2; exit 1; }
fi

daemon_config configure

echo "Starting dockerd (log: $log_dir/dockerd.log) ..."
# A stale pid file from a daemon that died with its machine stops a new one.
rm -f /var/run/docker.pid
# A session of its own: the engine outlives whatever started it (make, a test), as it does under systemd.
setsid nohup dockerd >>"$log_dir/dockerd.log" 2>&1 </dev/null &

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    daemon_config started "$(cat /var/run/docker.pid)"
    echo "Docker engine is up."
    exit 0
  fi
  sleep 1
done
tail -n 40 "$log_dir/dockerd.log" >&2
echo "The Docker engine did not start within 60 s; its log is above." >&2
exit 1
