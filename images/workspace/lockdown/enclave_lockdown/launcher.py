"""The "Release results" card in JupyterLab's launcher, which opens the airlock for this project.

JupyterLab has no setting for launcher cards; jupyter-server-proxy's lab extension adds one for each
server process it is told of (its `servers-info` answer). This entry has no process and nothing is
ever proxied to it: its card opens `path_info`, relative to the server's URL
(/user/<name>/<project>/), which climbs back to the site root and names the airlock's requests page
with the project chosen. The server's own /release-results/ route exists (jupyter-server-proxy makes
it) but is never used, and the edge refuses it: only the operator's declared apps are let through.

Both images' configurations take their ServerProxy.servers from here, because a later configuration
file replaces the whole dictionary rather than adding to it.
"""

from __future__ import annotations

from urllib.parse import quote

NAME = "release-results"
AIRLOCK_REQUESTS = "services/egress-review/requests"
NOTHING_LISTENS = 9  # the discard port: jupyter-server-proxy needs a port when there is no command
# /user/<name>/<project>/ is three segments below the site root.
TO_SITE_ROOT = "../../../"


def release_results_server(project: str) -> dict:
    """ServerProxy.servers entries for the card; `project` is this server's name (JUPYTERHUB_SERVER_NAME)."""
    return {
        NAME: {
            "command": [],
            "port": NOTHING_LISTENS,
            "new_browser_tab": True,
            "launcher_entry": {
                "title": "Release results",
                "category": "Enclave",
                "path_info": f"{TO_SITE_ROOT}{AIRLOCK_REQUESTS}?project={quote(project, safe='')}",
            },
        }
    }
