#!/usr/bin/env bash
# Start, stop or check the enclave's hub (JupyterHub with its proxy) in the background.
#   usage: hub.sh start|stop|status
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
state="${ENCLAVE_STATE_DIR:?set ENCLAVE_STATE_DIR}"
hub_dir="$state/hub"
pid_file="$hub_dir/jupyterhub.pid"
log="$state/hub.log"
port="${ENCLAVE_PUBLIC_PORT:-8000}"
export PATH="$repo/.venv/bin:$repo/.cache/node/node_modules/.bin:$PATH"

running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "The hub is already running (pid $(cat "$pid_file"))."; exit 0; fi
    mkdir -p "$hub_dir"
    # A session of its own, no inherited descriptors: the hub outlives this script and its caller.
    (cd "$hub_dir" && exec setsid jupyterhub -f "$repo/hub_config/jupyterhub_config.py" \
      </dev/null >>"$log" 2>&1) &
    echo $! >"$pid_file"
    for _ in $(seq 1 60); do
      if curl -fsS -o /dev/null "http://127.0.0.1:$port/hub/login" 2>/dev/null; then exit 0; fi
      running || { tail -n 40 "$log" >&2; echo "The hub exited; its log is above ($log)." >&2; exit 1; }
      sleep 1
    done
    tail -n 40 "$log" >&2; echo "The hub did not answer within 60 s; log: $log" >&2; exit 1 ;;
  stop)
    if running; then
      pid="$(cat "$pid_file")"; kill "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
    # The proxy outlives a killed hub; stop it too.
    if [ -f "$hub_dir/proxy.pid" ]; then kill "$(cat "$hub_dir/proxy.pid")" 2>/dev/null || true; rm -f "$hub_dir/proxy.pid"; fi ;;
  status)
    if running; then echo "running (pid $(cat "$pid_file"))"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
