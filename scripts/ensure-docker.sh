#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine: install it from the
# distribution's packages when missing, start the daemon when it is not
# running, and wait until `docker info` answers. Idempotent.
set -euo pipefail

log_dir="${ENCLAVE_LOG_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/enclave}"
mkdir -p "$log_dir"

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "Installing the Docker engine (docker.io) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$log_dir/apt-docker.log" 2>&1
  apt-get install -y -qq --no-install-recommends docker.io iptables >>"$log_dir/apt-docker.log" 2>&1 \
    || { cat "$log_dir/apt-docker.log" >&2; echo "Could not install docker.io: see above." >&2; exit 1; }
fi

echo "Starting dockerd (log: $log_dir/dockerd.log) ..."
# A stale pid file from a daemon that died with its machine stops a new one.
rm -f /var/run/docker.pid
nohup dockerd >"$log_dir/dockerd.log" 2>&1 &

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "Docker engine is up."
    exit 0
  fi
  sleep 1
done
tail -n 40 "$log_dir/dockerd.log" >&2
echo "The Docker engine did not start within 60 s; its log is above." >&2
exit 1
