"""A project's Spark standalone cluster: one master, two workers, a job from a real workspace.

The cluster runs the genomics image on the project's cluster network; the
project's workspaces join it and nothing else can reach it.
"""

from __future__ import annotations

import pytest
import requests

from enclave.errors import InvalidInput
from enclave.operations import datasets, people, projects
from enclave.spark import ClusterSize, cluster_status, start_cluster, stop_cluster
from enclave.spawner import hardening
from enclave.state.audit_query import AuditFilter, find_events
from tests.support.workspaces import Workspace

PROJECT = "sparky"
PROBE = "import socket\ns = socket.socket(); s.settimeout(3)\n"


@pytest.fixture(scope="module")
def cluster(enclave, genomics_image, docker_client):
    ctx = enclave.ctx
    projects.create_project(ctx, PROJECT, image="genomics")
    projects.set_limits(ctx, PROJECT, mem_limit="2G", cpu_limit=1.0, pids_limit=1024)
    datasets.approve_dataset(ctx, PROJECT, "cohort", "v1")
    for name in ("alice", "carol"):
        people.add_member(ctx, PROJECT, name)
    status = start_cluster(ctx, PROJECT, ClusterSize(workers=2, worker_cores=1, worker_memory="512m"))
    yield status
    stop_cluster(ctx, PROJECT)


@pytest.fixture(scope="module")
def alice_sparky(enclave, cluster):
    workspace = Workspace(enclave, "alice", PROJECT)
    yield workspace
    workspace.stop()


def test_cluster_has_a_master_and_two_workers_confined_like_workspaces(cluster, docker_client):
    roles = sorted(n.role for n in cluster.nodes)
    assert roles == ["master", "worker", "worker"]
    for node in cluster.nodes:
        attrs = docker_client.api.inspect_container(node.container)
        host = attrs["HostConfig"]
        assert attrs["Config"]["User"] == "1000:1000"
        assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"] and not host["Privileged"]
        assert "no-new-privileges:true" in host["SecurityOpt"]
        # The workspaces' seccomp profile, DNS setting and execute-only init (enclave/spark/nodes.py).
        assert host["SecurityOpt"] == hardening.security_opt() and host["Dns"] == [hardening.DNS_NOWHERE]
        assert host["Init"] is False and attrs["Config"]["Entrypoint"] == [hardening.IMAGE_INIT, "--"]
        assert host["Memory"] > 0 and host["NanoCpus"] > 0 and host["PidsLimit"] > 0
        assert not host["PortBindings"]
        assert list(attrs["NetworkSettings"]["Networks"]) == [cluster.network]
        mounts = {m["Destination"]: m for m in attrs["Mounts"]}
        assert mounts["/data/cohort/v1"]["RW"] is False
        assert set(mounts) == {"/data/cohort/v1"}, "a node sees the project's extracts and nothing else"


def test_cluster_network_is_internal(cluster, docker_client):
    net = docker_client.networks.get(cluster.network)
    assert net.attrs["Internal"] is True


def test_pyspark_job_from_a_workspace_runs_on_both_workers(alice_sparky, cluster):
    job = alice_sparky.kernel.execute(
        "import os, socket\n"
        "from pyspark.sql import SparkSession\n"
        "spark = (SparkSession.builder.master(os.environ['SPARK_MASTER_URL'])\n"
        "         .config('spark.driver.host', os.environ['SPARK_DRIVER_HOST'])\n"
        "         .config('spark.driver.bindAddress', '0.0.0.0')\n"
        "         .config('spark.executor.memory', '512m').config('spark.cores.max', '2')\n"
        "         # schedule only once both workers' executors are in (a busy machine starts JVMs slowly)\n"
        "         .config('spark.scheduler.minRegisteredResourcesRatio', '1.0')\n"
        "         .config('spark.scheduler.maxRegisteredResourcesWaitingTime', '600s')\n"
        "         .appName('enclave-test').getOrCreate())\n"
        "rows = spark.read.parquet('/data/cohort/v1/participants.parquet').count()\n"
        "hosts = spark.sparkContext.parallelize(range(200), 20).map(lambda _: socket.gethostname()).distinct()\n"
        "print(rows, ','.join(sorted(hosts.collect())))\n"
        "spark.stop()\n",
        timeout=900,
    )
    assert not job.error, f"{job.error}\n{job.stderr[-3000:]}"
    count, hosts = job.stdout.split()
    extract_rows = alice_sparky.run(
        "import polars as pl\n"
        "print(pl.scan_parquet('/data/cohort/v1/participants.parquet').select(pl.len()).collect().item())"
    )
    assert int(count) == int(extract_rows)
    assert hosts.split(",") == ["worker-1", "worker-2"], "the tasks ran on the two workers, not in the workspace"


def test_the_cluster_cannot_reach_the_host(alice_sparky, cluster, enclave, docker_client):
    """From a worker, the hub's port on the cluster network's gateway is dropped like every host port."""
    net = docker_client.networks.get(cluster.network)
    gateway = net.attrs["IPAM"]["Config"][0]["Gateway"]
    worker = next(n.container for n in cluster.nodes if n.role == "worker")
    result = docker_client.containers.get(worker).exec_run(
        ["python3", "-c", f"{PROBE}print(s.connect_ex(('{gateway}', {enclave.settings.hub_port})))"]
    )
    assert result.output.decode().strip() in {"11", "110"}, "timed out: the packet was dropped"


def test_another_projects_workspace_cannot_reach_the_master(bob_beta, cluster):
    master = next(n.address for n in cluster.nodes if n.role == "master")
    assert bob_beta.run(f"{PROBE}print(s.connect_ex(('{master}', 7077)))").strip() in {"11", "110", "113"}


def test_workspaces_on_the_cluster_network_cannot_reach_each_other(enclave, alice_sparky, cluster, docker_client):
    carol = Workspace(enclave, "carol", PROJECT)
    try:
        alice_ip = alice_sparky.container.attrs["NetworkSettings"]["Networks"][cluster.network]["IPAddress"]
        reply = carol.run(f"{PROBE}print(s.connect_ex(('{alice_ip}', 8888)))").strip()
        assert reply in {"11", "110", "113"}, "the cluster network lets workspaces reach nodes only"
        master = next(n.address for n in cluster.nodes if n.role == "master")
        assert carol.run(f"{PROBE}print(s.connect_ex(('{master}', 7077)))").strip() == "0"
    finally:
        carol.stop()


def test_starting_twice_and_a_project_without_spark_are_refused(enclave, cluster):
    with pytest.raises(InvalidInput, match="has a cluster already"):
        start_cluster(enclave.ctx, PROJECT)
    with pytest.raises(InvalidInput, match="no Spark"):
        start_cluster(enclave.ctx, "gamma")


def test_start_and_stop_are_audited_and_stop_removes_everything(enclave, genomics_image, docker_client):
    ctx = enclave.ctx
    projects.create_project(ctx, "sparkstop", image="genomics")
    status = start_cluster(ctx, "sparkstop", ClusterSize(workers=1, worker_memory="256m"))
    assert status.running
    removed = stop_cluster(ctx, "sparkstop")
    assert len(removed) == 2
    assert cluster_status(docker_client, enclave.settings.instance, "sparkstop") is None
    assert not docker_client.networks.list(names=[status.network])
    with enclave.ctx.db.reading() as session:
        actions = [(e.action, e.outcome) for e in find_events(session, AuditFilter(project="sparkstop"))]
    assert ("spark.start", "ok") in actions and ("spark.stop", "ok") in actions


def test_spark_ui_is_reached_only_through_the_declared_app(alice_sparky, cluster, enclave):
    """The master's page through the genomics image's declared app; its port through /proxy/ stays closed."""
    base = alice_sparky.user.server_url(PROJECT)
    headers = {"Authorization": f"token {alice_sparky.token}"}
    page = requests.get(f"{base}/spark-ui/", headers=headers, timeout=120)
    assert page.status_code == 200, page.text[:500]
    assert "Spark Master at spark://spark-master:7077" in page.text
    master = next(n.address for n in cluster.nodes if n.role == "master")
    for path in ("proxy/8080/", f"proxy/{master}:8080/", "proxy/absolute/8080/"):
        refused = requests.get(f"{base}/{path}", headers=headers, timeout=60, allow_redirects=False)
        assert refused.status_code == 403 and refused.headers.get("X-Enclave-Edge") == "refused", path


def test_suspending_the_project_removes_its_cluster(enclave, genomics_image, docker_client):
    ctx = enclave.ctx
    projects.create_project(ctx, "sparksusp", image="genomics")
    start_cluster(ctx, "sparksusp", ClusterSize(workers=1, worker_memory="256m"))
    stopped = projects.suspend_project(ctx, "sparksusp")
    assert any("spark-sparksusp-master" in name for name in stopped)
    assert cluster_status(docker_client, enclave.settings.instance, "sparksusp") is None
