# System-wide Jupyter server settings for enclave workspaces. Root-owned on a
# read-only image; JUPYTER_CONFIG_DIR points the per-user config folder at an
# empty root-owned directory, so nothing in the home folder overrides this.
c = get_config()  # noqa: F821

# The notebook root is the analyst's home. Cohort data is mounted at /data,
# outside the root, so the file routes do not list it. This is not a barrier on
# its own (a symlink or a copy in the home folder is served like any file):
# the edge controls of issue 4 are what stop file bytes reaching a browser.
c.ServerApp.root_dir = "/home/analyst"
c.ContentsManager.allow_hidden = False
c.FileContentsManager.delete_to_trash = False
# Kernels and the server write their runtime files to scratch, not the image.
c.ServerApp.runtime_dir = "/tmp/jupyter-runtime"
