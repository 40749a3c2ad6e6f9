"""The example notebooks (docs/examples/) run in real workspaces and give the results they promise.

A project on the genomics image with the cohort and the shared simulated
genotype dataset (tests/support/fixtures.py: genotypes_v1) approved; an
analyst's workspace started through the hub; each notebook uploaded through
the workspace's contents API and executed cell by cell in a real kernel of the
kernelspec it names (tests/support/kernel.py, over the hub's proxy). The R
example runs the same way in an R kernel of ruth's workspace on the `r` image
(tests/support/workspaces.py: ruth_r). Then: the outputs are in the outbox,
the GWAS finds the simulated causal variants (read from the truth file, which
lives outside the dataset) and nothing else, the R tables are the extract's
true figures under the disclosure controls, and every output passes the
airlock's checks on a real submission.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import polars as pl
import pytest
import requests

from enclave.cohort.genotypes import read_truth, truth_path
from enclave.extracts.store import extract_folder
from enclave.operations import datasets, people, projects
from tests.support.airlock import AirlockClient
from tests.support.workspaces import R_ANALYST, R_PROJECT, Workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
PROJECT, ANALYST = "genome", "gina"
SIGNIFICANT = 5e-8
CELL_TIMEOUT = 900  # seconds one cell may stay silent (Hail's JVM start and scans on a busy machine)
PHENOTYPE_OUTPUTS = ("bmi_by_age_sex.csv", "bmi_by_age_sex.png")
GWAS_OUTPUTS = ("gwas_hits.csv", "gwas_manhattan.png")
R_NOTEBOOK = "hypertension_r.ipynb"
R_TABLE, R_MODEL, R_CHART = (
    "hypertension_by_bmi_smoking.csv",
    "hypertension_odds_ratios.csv",
    "hypertension_by_bmi_smoking.png",
)


@pytest.fixture(scope="module")
def genome(enclave, genomics_image, genotypes_v1):
    """gina's running workspace in a genomics project with the cohort and the genotypes approved."""
    ctx = enclave.ctx
    projects.create_project(ctx, PROJECT, image="genomics")
    # Hail's JVM needs more than the tests' 1G default (docs/operators.md: genomics projects).
    projects.set_limits(ctx, PROJECT, mem_limit="4G", cpu_limit=2.0)
    datasets.approve_dataset(ctx, PROJECT, "cohort", "v1")
    datasets.approve_dataset(ctx, PROJECT, "genotypes", "v1")
    enclave.passwords[ANALYST] = people.add_user(ctx, ANALYST, ["analyst"]).initial_password
    people.add_member(ctx, PROJECT, ANALYST)
    workspace = Workspace(enclave, ANALYST, PROJECT)
    yield workspace
    workspace.stop()


def run_notebook(workspace: Workspace, name: str) -> list[str]:
    """Upload a notebook through the contents API, read it back the same way, run its code cells in order
    in the workspace's kernel, or in a new kernel of the notebook's kernelspec when it is not Python's."""
    notebook = json.loads((EXAMPLES / name).read_text())
    url = f"{workspace.user.server_url(workspace.project)}/api/contents/{name}"
    headers = {"Authorization": f"token {workspace.token}"}
    upload = requests.put(
        url, headers=headers, json={"type": "notebook", "format": "json", "content": notebook}, timeout=60
    )
    assert upload.status_code in (200, 201), upload.text
    stored = requests.get(url, headers=headers, params={"content": "1"}, timeout=60)
    stored.raise_for_status()
    kernelspec = stored.json()["content"]["metadata"]["kernelspec"]["name"]
    kernel = workspace.kernel if kernelspec == "python3" else workspace.open_kernel(kernelspec)
    outputs = []
    try:
        for number, cell in enumerate(stored.json()["content"]["cells"]):
            if cell["cell_type"] != "code":
                continue
            result = kernel.execute(cell["source"], timeout=CELL_TIMEOUT)
            assert result.error is None, f"{name} cell {number} raised {result.error}\n{result.stderr[-3000:]}"
            outputs.append(result.stdout + "".join(r or "" for r in result.results))
    finally:
        if kernel is not workspace.kernel:
            kernel.close()
    return outputs


def outbox(enclave) -> Path:
    return enclave.settings.projects_dir / PROJECT / "outbox" / ANALYST


def home(enclave) -> Path:
    return enclave.settings.projects_dir / PROJECT / "homes" / ANALYST


@pytest.fixture(scope="module")
def executed(genome) -> dict[str, list[str]]:
    """Both notebooks run once, in the order an analyst would, in one kernel each."""
    ran = {"phenotype_polars.ipynb": run_notebook(genome, "phenotype_polars.ipynb")}
    genome.close()  # a fresh kernel for the GWAS, as a new notebook gets
    genome.ensure_running()
    ran["gwas_hail.ipynb"] = run_notebook(genome, "gwas_hail.ipynb")
    return ran


def test_examples_are_stored_without_outputs():
    for path in EXAMPLES.glob("*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        assert all(
            not c.get("outputs") and c.get("execution_count") is None for c in cells if c["cell_type"] == "code"
        ), path.name


def test_phenotype_notebook_writes_a_suppressed_and_rounded_summary(enclave, executed):
    for name in PHENOTYPE_OUTPUTS:
        assert (outbox(enclave) / name).stat().st_size > 0, name

    released = pl.read_csv(outbox(enclave) / "bmi_by_age_sex.csv")
    assert released.columns == ["age_band", "sex", "n", "bmi_mean", "bmi_sd", "ldl_mean", "ldl_sd"]
    counts = released["n"].drop_nulls()
    assert (counts >= 10).all() and (counts % 5 == 0).all()
    # The released counts are the extract's true counts per age band and sex, rounded to 5.
    extract = extract_folder(enclave.settings, PROJECT, "cohort", "v1")
    people_ = pl.read_parquet(extract / "participants.parquet").join(
        pl.read_parquet(extract / "baseline.parquet").select("participant_id"), on="participant_id"
    )
    start = (pl.col("age_at_recruitment") // 10) * 10
    truth = (
        people_.with_columns(age_band=start.cast(pl.String) + "-" + (start + 9).cast(pl.String))
        .group_by("age_band", "sex")
        .agg(true_n=pl.len())
    )
    paired = released.join(truth, on=["age_band", "sex"], how="full", coalesce=True)
    assert paired.height == released.height == truth.height
    for row in paired.iter_rows(named=True):
        expected = None if row["true_n"] < 10 else int(round(row["true_n"] / 5) * 5)
        assert row["n"] == expected, row


def test_gwas_notebook_finds_the_simulated_causal_variants_and_no_null_one(enclave, executed, genotypes_v1):
    for name in GWAS_OUTPUTS:
        assert (outbox(enclave) / name).stat().st_size > 0, name
    assert (outbox(enclave) / "gwas_manhattan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    hits = pl.read_csv(outbox(enclave) / "gwas_hits.csv")
    assert hits.columns == ["locus", "alleles", "beta", "se", "p"]  # summary statistics only
    assert (hits["p"] < SIGNIFICANT).all()
    causal = {c["locus"]: c for c in read_truth(truth_path(genotypes_v1))["causal"]}
    found = dict(zip(hits["locus"], hits["beta"]))
    assert set(causal) <= set(found), f"causal variants missed: {sorted(set(causal) - set(found))}"
    for locus, variant in causal.items():
        assert (found[locus] > 0) == (variant["beta"] > 0), f"{locus}: effect of the wrong sign"
    # Null variants are simulated independently of the trait and of each other: with a few thousand
    # tests at 5e-8 the expected number of false positives is under 1e-3, so any null hit is an error.
    assert set(found) <= set(causal), f"null variants reported as hits: {sorted(set(found) - set(causal))}"


def test_hail_and_spark_wrote_nothing_to_the_home_folder(enclave, genome, executed):
    names = {p.name for p in home(enclave).rglob("*")}
    assert not {n for n in names if n.startswith(("hail-", "spark-", "blockmgr-")) or n.endswith(".log")}, names
    assert not names & {"derby.log", "metastore_db", "spark-warehouse", "hail"}, names
    logs = genome.run("import glob; print(sorted(glob.glob('/tmp/hail-*.log')))")
    assert "/tmp/hail-" in logs


LISTENERS = r"""
import json, socket
import hail as hl

def listening(table, family):
    found = []
    for line in open(table).read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state != "0A":  # LISTEN
            continue
        address, port = local.split(":")
        raw = bytes.fromhex(address)
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # /proc stores 32-bit words
        found.append([socket.inet_ntop(family, raw), int(port, 16)])
    return found

hl.init(quiet=True, idempotent=True)
print(json.dumps({"ui": hl.spark_context().uiWebUrl, "hail_rpc": hl.current_backend()._jhttp_server.port(),
                  "listening": listening("/proc/net/tcp", socket.AF_INET)
                  + listening("/proc/net/tcp6", socket.AF_INET6)}))
hl.stop()
"""
SERVER_PORT = 8888  # jupyterhub-singleuser: the one port the hub reaches, on the project network


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


def test_spark_listens_on_loopback_only(genome, executed):
    """hl.init() with no arguments: Spark's driver RPC, block manager and UI bind to loopback only.

    One listener cannot be moved: Hail 0.2.139's own RPC server for its Python side is created with
    HttpServer.create(new InetSocketAddress(0)), every interface, hard-coded. It is reachable only
    from what reaches the workspace's address (the host; ICC is off on the project network), and is
    documented in docs/operators.md. This test fails if anything else listens beyond loopback.
    """
    found = json.loads(genome.run(LISTENERS).strip().splitlines()[-1])
    assert ":4040" in (found["ui"] or ""), found["ui"]
    assert [port for address, port in found["listening"] if port == 4040] == [4040]
    assert all(is_loopback(address) for address, port in found["listening"] if port == 4040)
    outside = {port for address, port in found["listening"] if not is_loopback(address)}
    assert outside <= {SERVER_PORT, found["hail_rpc"]}, f"listening beyond loopback: {found['listening']}"


def test_outputs_pass_the_airlock_checks(enclave, executed):
    """A real release request through the hub's egress-review service: its checks run on submission."""
    airlock = AirlockClient.through_hub(enclave, ANALYST)
    rid = airlock.ok("POST", "api/requests", json={"project": PROJECT, "title": "example results"})["id"]
    airlock.ok(
        "POST",
        f"api/requests/{rid}/groups",
        json={
            "name": "examples",
            "context": "BMI by age band and sex; GWAS hits and Manhattan plot",
            "controls": "cells under 10 suppressed, counts rounded to 5; per-variant statistics only",
        },
    )
    for name in PHENOTYPE_OUTPUTS + GWAS_OUTPUTS:
        airlock.ok("POST", f"api/requests/{rid}/files", json={"path": name, "group": "examples"})
    staged = airlock.ok("POST", f"api/requests/{rid}/submit")["staged_files"]
    assert {f["path"] for f in staged} == set(PHENOTYPE_OUTPUTS + GWAS_OUTPUTS)
    for f in staged:
        verdicts = {c["rule"]: c["verdict"] for c in f["checks"]}
        assert not f["blocked"], (f["path"], verdicts)
        assert set(verdicts.values()) <= {"pass"}, (f["path"], verdicts)


def r_outbox(enclave) -> Path:
    return enclave.settings.projects_dir / R_PROJECT / "outbox" / R_ANALYST


@pytest.fixture(scope="module")
def executed_r(enclave, ruth_r):
    """The R example run once, in a new R kernel of ruth's `r` workspace; its outputs are removed afterwards,
    since the workspace is shared with other tests."""
    yield run_notebook(ruth_r, R_NOTEBOOK)
    for name in (R_TABLE, R_MODEL, R_CHART):
        (r_outbox(enclave) / name).unlink(missing_ok=True)


def hypertension_truth(enclave) -> pl.DataFrame:
    """The extract's true participants and hypertension cases (I10) per BMI group and smoking status."""
    extract = extract_folder(enclave.settings, R_PROJECT, "cohort", "v1")
    cases = pl.read_parquet(extract / "diagnoses.parquet").filter(pl.col("icd10_code") == "I10")["participant_id"]
    bmi = pl.col("bmi")
    group = (
        pl.when(bmi < 25)
        .then(pl.lit("under 25"))
        .when(bmi < 30)
        .then(pl.lit("25 to 30"))
        .otherwise(pl.lit("30 and over"))
    )
    return (
        pl.read_parquet(extract / "participants.parquet")
        .join(pl.read_parquet(extract / "baseline.parquet"), on="participant_id")
        .drop_nulls(["bmi", "smoking_status"])
        .with_columns(bmi_group=group, case=pl.col("participant_id").is_in(cases.implode()))
        .group_by("bmi_group", "smoking_status")
        .agg(true_n=pl.len(), true_cases=pl.col("case").sum())
    )


def test_r_notebook_writes_the_extracts_figures_suppressed_and_rounded(enclave, executed_r):
    assert (r_outbox(enclave) / R_CHART).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    released = pl.read_csv(r_outbox(enclave) / R_TABLE)
    assert released.columns == ["bmi_group", "smoking_status", "n", "cases", "prevalence_pct"]
    paired = released.join(hypertension_truth(enclave), on=["bmi_group", "smoking_status"], how="full", coalesce=True)
    assert paired.height == released.height == 9
    for row in paired.iter_rows(named=True):
        n, cases = row["true_n"], row["true_cases"]
        if min(n, cases, n - cases) < 10:
            assert (row["n"], row["cases"], row["prevalence_pct"]) == (None, None, None), row
            continue
        assert (row["n"], row["cases"]) == (round(n / 5) * 5, round(cases / 5) * 5), row
        assert abs(row["prevalence_pct"] - 100 * cases / n) <= 0.05 + 1e-9, row


def test_r_notebook_keeps_only_the_models_odds_ratios(enclave, executed_r):
    model = pl.read_csv(r_outbox(enclave) / R_MODEL)
    assert model.columns == ["term", "odds_ratio", "ci_lower", "ci_upper", "p_value"]
    rows = {row["term"]: row for row in model.iter_rows(named=True)}
    assert set(rows) == {"age_at_recruitment", "sexMale", "bmi", "smoking_statusPrevious", "smoking_statusCurrent"}
    assert all(r["ci_lower"] <= r["odds_ratio"] <= r["ci_upper"] for r in rows.values())
    # The cohort simulates hypertension rising with age and BMI: both odds ratios clearly above 1.
    assert rows["age_at_recruitment"]["ci_lower"] > 1 and rows["bmi"]["ci_lower"] > 1


def test_r_outputs_pass_the_airlock_checks(enclave, executed_r):
    """A real release request of ruth's, through the hub's egress-review service: its checks run on submission."""
    airlock = AirlockClient.through_hub(enclave, R_ANALYST)
    rid = airlock.ok("POST", "api/requests", json={"project": R_PROJECT, "title": "R example results"})["id"]
    group = {
        "name": "hypertension",
        "context": "Hypertension by BMI group and smoking status; odds ratios of a logistic regression",
        "controls": "cells under 10 (participants, cases, non-cases) suppressed, counts rounded to 5; odds ratios only",
    }
    airlock.ok("POST", f"api/requests/{rid}/groups", json=group)
    for name in (R_TABLE, R_MODEL, R_CHART):
        airlock.ok("POST", f"api/requests/{rid}/files", json={"path": name, "group": "hypertension"})
    staged = airlock.ok("POST", f"api/requests/{rid}/submit")["staged_files"]
    assert {f["path"] for f in staged} == {R_TABLE, R_MODEL, R_CHART}
    for f in staged:
        verdicts = {c["rule"]: c["verdict"] for c in f["checks"]}
        assert not f["blocked"], (f["path"], verdicts)
        assert set(verdicts.values()) <= {"pass"}, (f["path"], verdicts)
