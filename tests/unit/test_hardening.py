"""The confinement settings a workspace container is created with (enclave/spawner/hardening.py).

The running container is checked against them in tests/integration/security/test_cis_docker.py and test_dns.py;
these tests pin the policy itself and the shape DockerSpawner needs.
"""

import ipaddress
from pathlib import Path

from enclave.confinement import seccomp
from enclave.spawner import hardening
from enclave.spawner.plan import WorkspacePlan


def _plan() -> WorkspacePlan:
    return WorkspacePlan(
        user="alice",
        project="alpha",
        image_kind="workspace",
        mem_limit="1G",
        cpu_limit=1.0,
        pids_limit=256,
        datasets=(),
        home=Path("/h"),
        shared=Path("/s"),
        outbox=Path("/o"),
    )


def test_outside_names_are_forwarded_only_to_a_loopback_inside_the_container():
    dns = hardening.host_config(_plan(), "256m")["dns"]
    assert dns == [hardening.DNS_NOWHERE]
    assert ipaddress.ip_address(hardening.DNS_NOWHERE).is_loopback


def test_no_restart_by_the_engine_and_a_lower_cpu_share_than_the_default():
    config = hardening.host_config(_plan(), "256m")
    assert config["restart_policy"] == {"Name": "no"}
    assert 0 < config["cpu_shares"] < 1024


def test_capabilities_privileges_and_limits_are_in_the_policy():
    config = hardening.host_config(_plan(), "256m")
    assert config["cap_drop"] == ["ALL"]
    assert config["security_opt"] == ["no-new-privileges:true", seccomp.security_opt()]
    assert config["read_only"] is True and config["privileged"] is False
    assert config["pids_limit"] == 256 and config["memswap_limit"] == "1G"
    assert config["tmpfs"]["/tmp"].startswith("rw,nosuid,nodev,size=256m")


def test_the_health_check_survives_dockerspawners_template_formatting():
    # DockerSpawner runs str.format over every string in extra_create_kwargs: a brace would break it.
    check = hardening.HEALTHCHECK
    assert check["test"][0] == "CMD"
    assert not any("{" in part or "}" in part for part in check["test"])
    assert check["interval"] >= 30 * hardening.SECONDS and check["retries"] >= 1


def test_the_images_own_init_is_pid_1_not_dockers():
    # Docker's init is readable, hence dumpable and writable through /proc/1/mem by the analyst's code.
    assert hardening.host_config(_plan(), "256m")["init"] is False
    dockerfile = (Path(__file__).parents[2] / "images" / "workspace" / "Dockerfile").read_text()
    assert f'ENTRYPOINT ["{hardening.IMAGE_INIT}", "--"]' in dockerfile
    assert f"install -D -m 0711 /usr/bin/tini-static {hardening.IMAGE_INIT}" in dockerfile


def test_the_health_check_imports_nothing_from_the_analysts_home():
    # It runs with the home as working directory: isolated mode keeps '' off sys.path.
    assert hardening.HEALTHCHECK["test"][1:4] == ["python3", "-I", "-c"]
