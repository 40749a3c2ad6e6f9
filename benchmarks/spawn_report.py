"""The rows of bench_spawn's table, from its report: latencies, their phases, ratios and the scan."""

from __future__ import annotations

from .table import row

PHASES = (  # (key in the phase split, label)
    ("post_to_container_created", "POST -> container created"),
    ("container_created_to_started", "container created -> started"),
    ("container_started_to_server_listening", "started -> server listening"),
    ("server_listening_to_ready_seen", "listening -> hub sees it ready"),
)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def spawn_rows(report: dict) -> list[dict]:
    single, batch = report.get("single", {}), report.get("batch", {})
    rows = []
    for side in ("enclave", "plain"):
        rows.append(row(f"{side}: first spawn (not counted)", report.get("first_spawn_s", {}).get(side), "s"))
        s = single.get(side, {})
        rows += [
            row(
                f"{side}: single spawn p50 (n={s.get('n', 0)})", s.get("p50_s"), "s", "< 3" if side == "enclave" else ""
            ),
            row(f"{side}: single spawn p95", s.get("p95_s"), "s"),
        ]
        b = batch.get(side, {})
        users = b.get("users", "?")
        rounds = b.get("rounds", 0)
        rows += [
            row(f"{side}: {users} at once p50 ({rounds} rounds, ok={b.get('n', 0)})", b.get("p50_s"), "s"),
            row(f"{side}: {users} at once p95", b.get("p95_s"), "s"),
            row(f"{side}: {users} at once, wall time for all (mean)", b.get("wall_s"), "s"),
        ]
        for key, label in PHASES:
            rows.append(row(f"{side}: single, median {label}", s.get("phases_median_s", {}).get(key), "s"))
        rows.append(
            row(
                f"{side}: {users} at once, median started -> server listening",
                b.get("phases_median_s", {}).get("container_started_to_server_listening"),
                "s",
            )
        )

    def p50(group, side, key="p50_s"):
        return group.get(side, {}).get(key)

    rows += [
        row(
            "spawn ratio enclave/plain, single p50", _ratio(p50(single, "enclave"), p50(single, "plain")), "x", "< 1.3"
        ),
        row("spawn ratio enclave/plain, at-once p50", _ratio(p50(batch, "enclave"), p50(batch, "plain")), "x", "< 1.3"),
        row(
            "spawn ratio enclave/plain, single POST -> listening p50",
            _ratio(p50(single, "enclave", "to_listening_p50_s"), p50(single, "plain", "to_listening_p50_s")),
            "x",
            note="without the hub's randomised readiness polling, which adds 0.1-2.5 s to any spawn",
        ),
    ]
    env = report.get("environment", {})
    rows += [
        row(
            "machine: load average (1 min) at start",
            (env.get("load_average_at_start") or [None])[0],
            "",
            note="this machine has 2 cores; a load above ~1 means other work (e.g. a test suite) ran alongside",
        ),
        row("machine: load average (1 min) at end", (env.get("load_average_at_end") or [None])[0], ""),
        row("machine: other containers running at start", env.get("other_running_containers_at_start"), ""),
    ]
    return rows


def scan_rows(report: dict) -> list[dict]:
    result = report.get("scan")
    if not result:
        return [row("polars scan: workspace/host throughput", None, "x", ">= 0.95")]
    mb = result["bytes"] / 1e6
    ws, host = result["workspace"], result["host"]
    fairness = (
        f"workspace CPU limit {result['workspace_cpu_limit']} ({ws['threads']} polars threads), host "
        f"{result['host_cpus']} cores ({host['threads']} threads, POLARS_MAX_THREADS="
        f"{result['host_polars_max_threads'] or 'unset'}); polars {ws['polars']} in the workspace, "
        f"{host['polars']} on the host; same answer: {result['same_answer']}"
    )
    if result.get("host_folder") != result.get("registered_folder"):
        fairness += (
            "; the workspace mounts the project's own extract of the dataset, and the host read that same extract"
        )
    rows = []
    for key, label in (("query", "query (join+filter+group_by)"), ("full_read", "full read (all columns)")):
        ws_s, host_s = ws[f"{key}_best_s"], host[f"{key}_best_s"]
        rows += [
            row(f"polars {label}: workspace", mb / ws_s, "MB/s"),
            row(f"polars {label}: host", mb / host_s, "MB/s"),
            row(
                f"polars {label}: workspace/host",
                host_s / ws_s,
                "x",
                ">= 0.95" if key == "query" else "",
                note=fairness if key == "query" else "",
            ),
        ]
    return rows
