"""Benchmark: the same Hail GWAS in a genomics workspace (through the hub) and on the host, in one run.

    python -m benchmarks.bench_gwas [--out bench-results/gwas.json] [--samples 2000] [--variants 20000]

Sets up a real enclave (`encbench-` instance): a seeded cohort and simulated
genotypes (enclave.cohort.genotypes, with its causal variants), a project on
the genomics image with both approved, an analyst's workspace started
through the hub. SOURCE (the GWAS of docs/examples/gwas_hail.ipynb: read the
MatrixTable, sample and variant QC, join the trait by pseudonym,
`hl.linear_regression_rows` with sex and age) is sent as-is to the
workspace's kernel and run as-is by the host's Python on the very folder
mounted in the workspace. Each call starts Hail (`hl.init()` with no settings),
runs one warm-up GWAS and then --runs timed ones (every call is a fresh JVM:
a new kernel in the workspace, a new process on the host); calls go in blocks of
workspace, host, host, workspace (--rounds blocks) so that a drift in the
machine's load hits both sides alike.

Same resources on both sides: the workspace gets --cpus cores (CPU quota)
and 4G; the host is pinned to as many cores with taskset when --cpus is below
its core count; its scratch (TMPDIR, Hail's log) is a tmpfs too (/dev/shm),
like the workspace's /tmp. Both JVMs read the same spark-defaults.conf
(images/genomics/spark-conf: the driver's heap is 2g, local[*]), so both get
the same heap and as many Spark threads as they have cores.
Ratio: host time / workspace time, best of each side (target >= 0.9: the
workspace at least 90% of the host's speed), and the same with medians. Both sides must report the same hits, which must
include every causal variant, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from enclave.cohort import generate_cohort
from enclave.cohort.genotypes import read_truth
from enclave.operations import datasets, people, projects
from harness.enclave import cleanup_instance, start_hub, stop_hub
from harness.kernel import KernelSession

from . import enclave_hub, scan
from .images import available_image
from .table import publish, row

REPO = Path(__file__).resolve().parents[1]
SPARK_CONF = REPO / "images" / "genomics" / "spark-conf"
PROJECT, ANALYST = "gwasbench", "geneticist"
INSIDE = "/data/genotypes/v1"
MEMORY = "4G"
CALL_TIMEOUT = 1800
SHM = Path("/dev/shm")

SOURCE = r"""
import json, os, time
import hail as hl
import pandas as pd


def _encbench_gwas(data, runs):
    started = time.perf_counter()
    hl.init(quiet=True, idempotent=True)
    init_s = time.perf_counter() - started
    samples = pd.read_parquet(f"{data}/samples.parquet", columns=["participant_id", "sex", "age", "trait"])
    samples["s"] = samples["participant_id"].astype(str)
    samples["is_male"] = (samples["sex"] == "Male").astype(float)
    samples["age"] = samples["age"].astype(float)
    samples = samples[["s", "is_male", "age", "trait"]]

    def gwas():
        mt = hl.read_matrix_table(f"{data}/genotypes.mt")
        mt = hl.sample_qc(mt)
        mt = mt.filter_cols(mt.sample_qc.call_rate >= 0.97)
        mt = hl.variant_qc(mt)
        mt = mt.filter_rows((mt.variant_qc.call_rate >= 0.95) & (hl.min(mt.variant_qc.AF) >= 0.01)
                            & (mt.variant_qc.p_value_hwe > 1e-6))
        phenotypes = hl.Table.from_pandas(samples, key="s")
        mt = mt.annotate_cols(pheno=phenotypes[mt.s])
        mt = mt.filter_cols(hl.is_defined(mt.pheno.trait))
        result = hl.linear_regression_rows(y=mt.pheno.trait, x=mt.GT.n_alt_alleles(),
                                           covariates=[1.0, mt.pheno.is_male, mt.pheno.age])
        return result.aggregate(hl.struct(
            tested=hl.agg.count_where(hl.is_defined(result.p_value)),
            hits=hl.agg.filter(result.p_value < 5e-8, hl.agg.collect(hl.str(result.locus))),
        ))

    answer = gwas()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        gwas()
        times.append(time.perf_counter() - start)
    print(json.dumps({
        "hail": hl.version(),
        "cpus_seen": os.cpu_count(),
        "spark_parallelism": hl.spark_context().defaultParallelism,
        "driver_memory": hl.spark_context().getConf().get("spark.driver.memory", "1g"),
        "init_s": init_s,
        "times_s": times,
        "tested": answer.tested,
        "hits": sorted(answer.hits),
    }))
"""


def call(data: str, runs: int) -> str:
    return SOURCE + f"\n_encbench_gwas({data!r}, {runs})\n"


def in_workspace(kernel: KernelSession, runs: int) -> dict:
    outcome = kernel.execute(call(INSIDE, runs), timeout=CALL_TIMEOUT)
    if outcome.error:
        raise RuntimeError(f"the GWAS failed in the workspace: {outcome.error}\n{outcome.stderr[-2000:]}")
    return json.loads(outcome.stdout.strip().splitlines()[-1])


def on_host(folder: str, runs: int, cpus: int, scratch: Path) -> dict:
    """A fresh Python on the host, with the image's Spark settings and its scratch in `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        SPARK_CONF_DIR=str(SPARK_CONF),
        HAIL_LOG_DIR=str(scratch),
        TMPDIR=str(scratch),
        SPARK_LOCAL_IP="127.0.0.1",
    )
    command = [sys.executable, "-c", call(folder, runs)]
    if cpus < (os.cpu_count() or 1):
        command = ["taskset", "-c", f"0-{cpus - 1}", *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=CALL_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"the GWAS failed on the host (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(root: Path, samples: int, variants: int, seed: int) -> tuple[Path, Path]:
    """A cohort and genotypes for it (a separate process: Hail's JVM for the MatrixTable exits with it)."""
    cohort, genotypes = root / "data" / "cohort" / "v1", root / "data" / "genotypes" / "v1"
    generate_cohort(cohort, participants=max(samples, 2_000), seed=seed)
    subprocess.run(
        [
            str(Path(sys.executable).parent / "enclave"),
            "cohort",
            "genotypes",
            str(genotypes),
            "--cohort",
            str(cohort),
            "--samples",
            str(samples),
            "--variants",
            str(variants),
            "--seed",
            str(seed),
        ],
        check=True,
        env=dict(os.environ, TMPDIR=str(root)),
    )
    return cohort, genotypes


def gwas_rows(report: dict) -> list[dict]:
    g = report.get("gwas")
    if not g:
        return [row("gwas: workspace / host", None, "", ">= 0.9", note="did not run")]
    size = f"{g['samples']:,} x {g['variants']:,}"
    runs = len(g["workspace_times_s"])
    return [
        row(f"gwas: {size}, workspace (best of {runs})", g["workspace_best_s"], "s"),
        row(f"gwas: {size}, host (best of {len(g['host_times_s'])})", g["host_best_s"], "s"),
        row("gwas: host time / workspace time (best)", g["ratio"], "x", ">= 0.9"),
        row(
            "gwas: host time / workspace time (median)",
            g["median_ratio"],
            "x",
            note=f"medians: host {g['host_median_s']:.1f} s, workspace {g['workspace_median_s']:.1f} s",
        ),
        row(
            "gwas: hl.init() (median), host time / workspace time",
            g["init_ratio"],
            "x",
            note=f"host {g['host_init_s']:.1f} s, workspace {g['workspace_init_s']:.1f} s",
        ),
        row(
            "gwas: genotype extract for the project (VCF + MatrixTable, on the host)",
            report.get("genotype_extract_s"),
            "s",
        ),
        row(
            "gwas: same hits on both sides, every causal variant found",
            "yes" if g["same_hits"] and g["causal_found"] else "NO",
            "",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--samples", type=int, default=2_000, help="genotyped samples (default 2,000)")
    parser.add_argument("--variants", type=int, default=20_000, help="variants (default 20,000)")
    parser.add_argument("--seed", type=int, default=20260521)
    parser.add_argument("--runs", type=int, default=3, help="timed GWAS runs per call, after a warm-up (default 3)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="blocks of four calls in ABBA order: workspace, host, host, workspace (default 1)",
    )
    parser.add_argument(
        "--cpus", type=int, default=os.cpu_count() or 1, help="cores for each side (default: all of the host's)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run.py's timeout: clean up on the way out

    image = available_image("genomics")
    if image is None:
        return 2

    report: dict = {"image": image, "errors": {}, "load_average_at_start": os.getloadavg()}
    root = Path(tempfile.mkdtemp(prefix="encbench-gwas-"))
    enclave = kernel = user = host_scratch = None
    try:
        started = time.perf_counter()
        _, genotypes = prepare(root, args.samples, args.variants, args.seed)
        report["generate_s"] = time.perf_counter() - started
        enclave = enclave_hub.build(root / "enclave")
        ctx = enclave.ctx
        print(f"instance {enclave.settings.instance}, state in {root}", flush=True)
        datasets.register_dataset(ctx, "genotypes", "v1", genotypes)
        projects.create_project(ctx, PROJECT, image="genomics")
        projects.set_limits(ctx, PROJECT, mem_limit=MEMORY, cpu_limit=float(args.cpus))
        started = time.perf_counter()
        datasets.approve_dataset(ctx, PROJECT, "genotypes", "v1")
        report["genotype_extract_s"] = time.perf_counter() - started
        enclave.passwords[ANALYST] = people.add_user(ctx, ANALYST, ["analyst"]).initial_password
        people.add_member(ctx, PROJECT, ANALYST)
        start_hub(enclave)
        user = enclave.login(ANALYST)
        reply = user.start(PROJECT)
        if reply.status_code not in (201, 202):
            raise RuntimeError(f"the workspace did not start: {reply.status_code} {reply.text}")
        (container,) = enclave.containers(kind="workspace", project=PROJECT, user=ANALYST)
        host_folder = scan.mount_source(container, INSIDE)
        token = user.token()
        # The workspace's scratch is a tmpfs; the host's is one too where the machine has /dev/shm.
        host_scratch = Path(tempfile.mkdtemp(prefix="encbench-gwas-", dir=SHM if SHM.is_dir() else root))

        calls = {"workspace": [], "host": []}
        order = ["workspace", "host", "host", "workspace"] * args.rounds
        for number, side in enumerate(order):
            print(f"--- call {number + 1}/{len(order)}: {side}", flush=True)
            if side == "workspace":
                # A new kernel (a new JVM) per call, as the host gets a new process: no side runs warm.
                kernel = KernelSession(user.server_url(PROJECT), {"Authorization": f"token {token}"})
                try:
                    calls[side].append(in_workspace(kernel, args.runs))
                finally:
                    kernel.close()
                    kernel = None
            else:
                calls[side].append(on_host(host_folder, args.runs, args.cpus, host_scratch))

        causal = {c["locus"] for c in read_truth(genotypes.parent / f"{genotypes.name}.truth.json")["causal"]}
        hits = {side: {tuple(c["hits"]) for c in side_calls} for side, side_calls in calls.items()}
        ws_times = [t for c in calls["workspace"] for t in c["times_s"]]
        host_times = [t for c in calls["host"] for t in c["times_s"]]
        ws_median, host_median = statistics.median(ws_times), statistics.median(host_times)
        ws_init = statistics.median(c["init_s"] for c in calls["workspace"])
        host_init = statistics.median(c["init_s"] for c in calls["host"])
        report["gwas"] = {
            "samples": args.samples,
            "variants": args.variants,
            "cpus_each": args.cpus,
            "workspace_memory": MEMORY,
            "host_cpus": os.cpu_count(),
            "order": order,
            "workspace_times_s": ws_times,
            "host_times_s": host_times,
            "workspace_median_s": ws_median,
            "host_median_s": host_median,
            "workspace_best_s": min(ws_times),
            "host_best_s": min(host_times),
            # Best of: the other tenants of a shared machine only ever add time; medians are kept too.
            "ratio": min(host_times) / min(ws_times),
            "median_ratio": host_median / ws_median,
            "workspace_init_s": ws_init,
            "host_init_s": host_init,
            "init_ratio": host_init / ws_init,
            "same_hits": len(hits["workspace"] | hits["host"]) == 1,
            "causal": sorted(causal),
            "causal_found": all(causal <= set(h) for side in hits.values() for h in side),
            "calls": calls,
        }
        if not (report["gwas"]["same_hits"] and report["gwas"]["causal_found"]):
            report["errors"]["answer"] = "the two sides disagree, or a causal variant was missed"
    except BaseException as e:  # noqa: BLE001 - report, clean up, exit non-zero
        report["errors"]["run"] = f"{type(e).__name__}: {e}"
        traceback.print_exc()
        if enclave is not None:
            print("----- hub log (tail) -----\n" + enclave.log_tail(), file=sys.stderr)
    finally:
        print("--- cleaning up", flush=True)
        if kernel is not None:
            kernel.close()
        if enclave is not None:
            stop_hub(enclave)
            cleanup_instance(enclave.settings.instance)
        shutil.rmtree(root, ignore_errors=True)
        if host_scratch is not None:
            shutil.rmtree(host_scratch, ignore_errors=True)

    report["load_average_at_end"] = os.getloadavg()
    report["rows"] = gwas_rows(report)
    print()
    return publish(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
