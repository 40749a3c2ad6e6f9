# System-wide Jupyter server settings for enclave workspaces.
#
# Where each control inside the workspace is enforced (see docs/security.md):
# - This file, etc/jupyter/jupyter_server_config.d/enclave_lockdown.json and
#   etc/jupyter/labconfig/page_config.json are root-owned on a read-only image.
#   JUPYTER_CONFIG_DIR and JUPYTER_DATA_DIR point at empty root-owned folders
#   under /opt/enclave, so nothing in the home folder (~/.jupyter,
#   ~/.local/share/jupyter: config, page_config, kernelspecs, lab extensions)
#   is read by the server.
# - enclave_lockdown (/opt/enclave/python, enabled by the .json file above)
#   answers 403 on /files/, /view/, /nbconvert/ and /proxy/, and its
#   LockedContentsManager (below) refuses non-notebook file content larger
#   than 64 KiB through /api/contents.
# - labconfig/page_config.json disables and locks JupyterLab's download,
#   export, open-in-new-tab, copy-download-link and share plugins: that only
#   removes the buttons; the server-side routes are what is closed.
# - Terminals stay on (metered outside the container, issue 4 item 3).
#
# All of this is defence in depth: the analyst runs code in this container,
# so the controls that matter sit outside it (issue 4: edge and metering).
import os

from enclave_lockdown.launcher import release_results_server

c = get_config()  # noqa: F821

# The notebook root is the analyst's home. Cohort data is mounted at /data,
# outside the root, so the file routes do not list it. This is not a barrier on
# its own (a symlink or a copy in the home folder is served like any file).
c.ServerApp.root_dir = "/home/analyst"
c.ContentsManager.allow_hidden = False
c.FileContentsManager.delete_to_trash = False
# Large non-notebook files are not returned to the browser (enclave_lockdown).
c.ServerApp.contents_manager_class = "enclave_lockdown.LockedContentsManager"
c.LockedContentsManager.max_file_content_bytes = 64 * 1024
# A server whose lockdown extension fails to load must not start.
c.ServerApp.reraise_server_extension_failures = True
# jupyter-server-proxy: no remote hosts through /proxy/<host>:<port> (the whole
# /proxy/ prefix is also closed by enclave_lockdown). Apps the operator declares
# in c.ServerProxy.servers are served at /<name>/ and keep working; none here
# (the genomics image declares spark-ui). The one entry is the launcher's
# "Release results" card, which proxies nothing (enclave_lockdown/launcher.py).
c.ServerProxy.host_allowlist = []
c.ServerProxy.servers = release_results_server(os.environ.get("JUPYTERHUB_SERVER_NAME", ""))
# Terminals, like kernels (the kernelspec in /opt/enclave/user-data/kernels), run in the analyst's Python
# environment, ~/.local/venv, where pip installs; the server itself never does.
c.ServerApp.terminado_settings = {"shell_command": ["/opt/enclave/bin/analyst-python", "/bin/bash"]}
# Kernels and the server write their runtime files to scratch, not the image.
c.ServerApp.runtime_dir = "/tmp/jupyter-runtime"
# The notebook-trust secret and database would go to JUPYTER_DATA_DIR, which is
# read-only: keep them in scratch. Trust lasts as long as the container, so
# notebooks reopened after a restart show their HTML/JS output only once re-run.
c.NotebookNotary.data_dir = "/tmp/jupyter-runtime"
