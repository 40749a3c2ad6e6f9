"""JupyterLab's download, export, open-in-tab and share plugins are off and locked; user config is ignored;
the lockdown itself cannot be changed from inside the workspace."""

import json
import re

LOCKED_PLUGINS = {
    "@jupyterlab/docmanager-extension:download",  # File > Download
    "@jupyterlab/docmanager-extension:open-browser-tab",  # Open in New Browser Tab (document)
    "@jupyterlab/filebrowser-extension:download",  # file browser Download and Copy Download Link
    "@jupyterlab/filebrowser-extension:open-browser-tab",  # file browser Open in New Browser Tab
    "@jupyterlab/filebrowser-extension:share-file",  # Copy Shareable Link
    "@jupyterlab/notebook-extension:export",  # File > Save and Export Notebook As
}


def page_config(browser) -> dict:
    reply = browser.get("lab")
    assert reply.status_code == 200
    match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', reply.text, re.S)
    return json.loads(match.group(1))


def test_download_export_open_in_tab_and_share_plugins_are_disabled_and_locked(browser):
    """RT-90: use JupyterLab's download, export, open-in-tab or share buttons."""
    config = page_config(browser)
    assert LOCKED_PLUGINS <= set(config["disabledExtensions"])
    assert LOCKED_PLUGINS <= set(config["lockedExtensions"])


def test_enabling_a_locked_plugin_is_refused(browser):
    """RT-91: re-enable a locked plugin through /lab/api/plugins."""
    for plugin in sorted(LOCKED_PLUGINS):
        reply = browser.post("lab/api/plugins", json={"cmd": "enable", "plugin_name": plugin})
        assert reply.status_code >= 400, (plugin, reply.status_code, reply.text[:300])
        assert "locked" in reply.text
    assert LOCKED_PLUGINS <= set(page_config(browser)["disabledExtensions"])


def test_user_config_in_the_home_folder_is_ignored(browser, alice_alpha):
    """RT-92: undo the lockdown with configuration in ~/.jupyter."""
    # Config that would undo the lockdown, where Jupyter looks by default.
    undo = {plugin: False for plugin in LOCKED_PLUGINS}
    server_config = (
        "c.ServerApp.jpserver_extensions = {'enclave_lockdown': False}\n"
        "c.ServerApp.contents_manager_class = 'jupyter_server.services.contents.manager.ContentsManager'\n"
    )
    alice_alpha.run(
        "import json, os\n"
        "home = '/home/analyst/.jupyter'\n"
        "os.makedirs(home + '/labconfig', exist_ok=True)\n"
        f"open(home + '/jupyter_server_config.py', 'w').write({server_config!r})\n"
        f"json.dump({{'disabledExtensions': {undo!r}, 'lockedExtensions': {undo!r}}},"
        " open(home + '/labconfig/page_config.json', 'w'))\n"
    )
    paths = json.loads(
        alice_alpha.run(
            "import subprocess; print(subprocess.check_output(['jupyter', '--paths', '--json'], text=True))"
        )
    )
    assert paths["config"] == [
        "/opt/enclave/user-config",
        "/opt/venv/etc/jupyter",
        "/usr/local/etc/jupyter",
        "/etc/jupyter",
    ]
    assert not any(p.startswith("/home/") for p in paths["config"] + paths["data"])
    # The lab computes its page config on every request: the user's page_config.json is not in it.
    config = page_config(browser)
    assert LOCKED_PLUGINS <= set(config["disabledExtensions"]) and LOCKED_PLUGINS <= set(config["lockedExtensions"])
    # And the running server's lockdown is in force.
    assert browser.get("files/.jupyter/jupyter_server_config.py").status_code == 403


def test_the_lockdown_is_root_owned_and_cannot_be_changed(alice_alpha):
    """RT-93: change the lockdown's own files."""
    out = alice_alpha.run(
        "import errno, os\n"
        "targets = ['/etc/jupyter/jupyter_server_config.py', '/etc/jupyter/labconfig/page_config.json',\n"
        "           '/etc/jupyter/jupyter_server_config.d/enclave_lockdown.json',\n"
        "           '/opt/enclave/python/enclave_lockdown/__init__.py']\n"
        "for path in targets + ['/etc/jupyter/jupyter_server_config.d/zz_user.json',\n"
        "                       '/opt/enclave/user-config/jupyter_server_config.py',\n"
        "                       '/opt/enclave/user-data/evil', '/opt/enclave/python/sitecustomize.py']:\n"
        "    try:\n"
        "        open(path, 'a').write('# changed')\n"
        "        print(path, 'WRITTEN')\n"
        "    except OSError as e:\n"
        "        print(path, errno.errorcode[e.errno])\n"
        "folders = ['/etc/jupyter', '/opt/enclave', '/opt/enclave/user-config', '/opt/enclave/user-data']\n"
        "for path in targets + folders:\n"
        "    st = os.stat(path)\n"
        "    print(path, 'OWNER', st.st_uid, oct(st.st_mode & 0o022))\n"
    )
    writes = [line for line in out.splitlines() if "OWNER" not in line]
    assert len(writes) == 8 and all(line.split()[-1] in ("EROFS", "EACCES") for line in writes), out
    owners = [line.split()[-2:] for line in out.splitlines() if "OWNER" in line]
    assert owners == [["0", "0o0"]] * 8, out
