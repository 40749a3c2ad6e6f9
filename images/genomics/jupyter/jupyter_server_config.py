# The genomics image's jupyter-server-proxy apps, after the workspace's settings in /etc/jupyter.
# This file replaces ServerProxy.servers as a whole, so it keeps the launcher's "Release results"
# card (enclave_lockdown/launcher.py) beside the one declared app: the project's Spark master page at
# /spark-ui/. socat forwards to the master; /proxy/<port> stays closed here and at the edge.
import os

from enclave_lockdown.launcher import release_results_server

c = get_config()  # noqa: F821

c.ServerProxy.servers = {
    **release_results_server(os.environ.get("JUPYTERHUB_SERVER_NAME", "")),
    "spark-ui": {
        "command": ["socat", "TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr", "TCP:spark-master:8080"],
        "absolute_url": False,
        "timeout": 30,
        "new_browser_tab": False,
        "launcher_entry": {"enabled": True, "title": "Spark UI"},
    },
}
