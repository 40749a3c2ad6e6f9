"""Project networks under concurrency (the isolation attempts themselves are in tests/integration/security/)."""

from concurrent.futures import ThreadPoolExecutor

from enclave.isolation.network import ensure_project_network


def test_first_spawns_of_a_project_racing_for_its_network_all_get_it(enclave, docker_client):
    instance = enclave.settings.instance
    with ThreadPoolExecutor(6) as pool:
        networks = list(pool.map(lambda _: ensure_project_network(docker_client, instance, "racing"), range(6)))
    assert len({n.name for n in networks}) == 1
    assert len(docker_client.networks.list(names=[networks[0].name])) == 1
