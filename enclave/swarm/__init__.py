"""Multi-host workspaces on a Docker swarm.

The hub runs as a container on a swarm manager (images/hub/, `enclave swarm
up`); each (analyst, project) workspace is a swarm service on an internal,
attachable overlay network of its own that only it and the hub join
(networks.py); the service carries the confinement of spawner/hardening.py,
translated for swarm services (service.py); the spawner (spawner.py) plans,
isolates, starts and audits like the single-host EnclaveSpawner.
"""
