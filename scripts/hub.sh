#!/usr/bin/env bash
# Start, stop or check the enclave's hub (JupyterHub with its proxy, on loopback), its edge
# (the public HTTPS entrance, `enclave edge serve`) and its hub gate (the only way from workspaces
# to the hub, `python -m enclave.hubgate`) in the background.
#   usage: hub.sh start|stop|status
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
state="${ENCLAVE_STATE_DIR:?set ENCLAVE_STATE_DIR}"
hub_dir="$state/hub"
pid_file="$hub_dir/jupyterhub.pid"
edge_pid_file="$hub_dir/edge.pid"
gate_pid_file="$hub_dir/hubgate.pid"
log="$state/hub.log"
edge_log="$state/edge.log"
gate_log="$state/hubgate.log"
port="${ENCLAVE_PUBLIC_PORT:-8000}"
export PATH="$repo/.venv/bin:$repo/.cache/node/node_modules/.bin:$PATH"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running() { alive "$pid_file"; }

# Liveness only: the self-signed certificate is checked; an operator's own names the public host
# name rather than 127.0.0.1, so it is not checked here (browsers check it).
login_page() {
  if [ -n "${ENCLAVE_TLS_CERT:-}" ]; then
    curl -fsSk -o /dev/null "https://127.0.0.1:$port/hub/login"
  else
    curl -fsS --cacert "$state/tls/edge.crt" -o /dev/null "https://127.0.0.1:$port/hub/login"
  fi
}

stop_pid() {
  local file="$1"
  if alive "$file"; then
    local pid; pid="$(cat "$file")"; kill "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

case "${1:-}" in
  start)
    mkdir -p "$hub_dir"
    # The gate first: workspaces the hub starts (or finds running) call it at once.
    if alive "$gate_pid_file"; then echo "The hub gate is already running (pid $(cat "$gate_pid_file"))."; else
      (cd "$hub_dir" && exec setsid python -m enclave.hubgate </dev/null >>"$gate_log" 2>&1) &
      echo $! >"$gate_pid_file"
    fi
    if running; then echo "The hub is already running (pid $(cat "$pid_file"))."; else
      # A session of its own, no inherited descriptors: the hub outlives this script and its caller.
      (cd "$hub_dir" && exec setsid jupyterhub -f "$repo/hub_config/jupyterhub_config.py" \
        </dev/null >>"$log" 2>&1) &
      echo $! >"$pid_file"
    fi
    if alive "$edge_pid_file"; then echo "The edge is already running (pid $(cat "$edge_pid_file"))."; else
      # The edge makes its self-signed certificate on first start; it refuses to start without metering.
      (cd "$hub_dir" && exec setsid python -m enclave.edge </dev/null >>"$edge_log" 2>&1) &
      echo $! >"$edge_pid_file"
    fi
    for _ in $(seq 1 60); do
      if login_page 2>/dev/null; then exit 0; fi
      running || { tail -n 40 "$log" >&2; echo "The hub exited; its log is above ($log)." >&2; exit 1; }
      alive "$edge_pid_file" || { tail -n 40 "$edge_log" >&2; echo "The edge exited; its log is above ($edge_log)." >&2; exit 1; }
      alive "$gate_pid_file" || { tail -n 40 "$gate_log" >&2; echo "The hub gate exited; its log is above ($gate_log)." >&2; exit 1; }
      sleep 1
    done
    tail -n 20 "$log" "$edge_log" "$gate_log" >&2
    echo "The enclave did not answer within 60 s; logs: $log $edge_log $gate_log" >&2; exit 1 ;;
  stop)
    stop_pid "$edge_pid_file"
    stop_pid "$pid_file"
    stop_pid "$gate_pid_file"
    # The proxy outlives a killed hub; stop it too.
    if [ -f "$hub_dir/proxy.pid" ]; then kill "$(cat "$hub_dir/proxy.pid")" 2>/dev/null || true; rm -f "$hub_dir/proxy.pid"; fi ;;
  status)
    code=0
    if running; then echo "hub: running (pid $(cat "$pid_file"))"; else echo "hub: stopped"; code=1; fi
    if alive "$edge_pid_file"; then echo "edge: running (pid $(cat "$edge_pid_file"))"; else echo "edge: stopped"; code=1; fi
    if alive "$gate_pid_file"; then echo "hub gate: running (pid $(cat "$gate_pid_file"))"; else echo "hub gate: stopped"; code=1; fi
    exit $code ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
