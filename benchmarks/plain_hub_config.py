# The BASELINE hub of `make bench`: stock DockerSpawner, none of the enclave's isolation.
#
# Benchmark-only. It exists so that the enclave's spawn latency can be compared
# with the same image started the plain way, in the same run: a shared
# password for every user (DummyAuthenticator), an ordinary bridge network
# (not internal, containers may talk to each other), a writable root
# filesystem, no capability drop, no limits, no host firewall, no dataset
# mounts. Never use it for anything else.
#
# Started by benchmarks/plain_hub.py, which sets these variables:
#   BENCH_PLAIN_DIR          folder for the hub's database, cookie secret and proxy pid
#   BENCH_PLAIN_LABEL        value of the enclave.instance label on every container it starts
#   BENCH_PLAIN_IMAGE        the workspace image (the enclave's own)
#   BENCH_PLAIN_NETWORK      the Docker network to start containers on (created beforehand)
#   BENCH_PLAIN_GATEWAY      that network's gateway: the hub listens there and containers call it
#   BENCH_PLAIN_PORT         public port (proxy, on 127.0.0.1)
#   BENCH_PLAIN_HUB_PORT     the hub's own port (on the gateway address)
#   BENCH_PLAIN_API_PORT     the proxy's API port (on 127.0.0.1)
#   BENCH_PLAIN_PASSWORD     the shared password
#   BENCH_PLAIN_PROXY_TOKEN  the proxy's API token
#   BENCH_PLAIN_CHP          path of configurable-http-proxy
import os
from pathlib import Path

env = os.environ
state = Path(env["BENCH_PLAIN_DIR"])

c = get_config()  # noqa: F821 (provided by JupyterHub)

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = env["BENCH_PLAIN_PASSWORD"]
c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = 0
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(env["BENCH_PLAIN_PORT"])
c.JupyterHub.hub_ip = env["BENCH_PLAIN_GATEWAY"]  # the host's address on the benchmark network only
c.JupyterHub.hub_connect_ip = env["BENCH_PLAIN_GATEWAY"]
c.JupyterHub.hub_port = int(env["BENCH_PLAIN_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['BENCH_PLAIN_API_PORT']}"
c.ConfigurableHTTPProxy.auth_token = env["BENCH_PLAIN_PROXY_TOKEN"]
c.ConfigurableHTTPProxy.command = [env["BENCH_PLAIN_CHP"]]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = env["BENCH_PLAIN_IMAGE"]
c.DockerSpawner.pull_policy = "never"  # the image is local; never reach for a registry
c.DockerSpawner.network_name = env["BENCH_PLAIN_NETWORK"]
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.remove = True
c.DockerSpawner.prefix = env["BENCH_PLAIN_LABEL"]
c.DockerSpawner.name_template = "{prefix}-{username}-{servername}"
c.DockerSpawner.extra_create_kwargs = {
    "user": "1000:1000",  # the image's analyst user
    "labels": {"enclave.instance": env["BENCH_PLAIN_LABEL"], "enclave.kind": "plain-workspace"},
}
# A fresh, writable home for the analyst user on each start (the root filesystem stays writable).
c.DockerSpawner.extra_host_config = {"tmpfs": {"/home/analyst": "rw,uid=1000,gid=1000,mode=0700"}}

# The same timeouts and landing page as the enclave's hub.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
c.Spawner.default_url = "/lab"
