"""JupyterLab in the workspace image offers the airlock from its menus (File and Enclave), by settings only:
JupyterLab merges <jupyter config>/labconfig/default_setting_overrides.json into its menus."""

import json
from pathlib import Path

import pytest

from egress_review.config import SERVICE_NAME

OVERRIDES = Path(__file__).parents[3] / "images/workspace/etc/jupyter/labconfig/default_setting_overrides.json"
AIRLOCK = f"/services/{SERVICE_NAME}/requests"


def entries(menu_id: str) -> list[dict]:
    menus = json.loads(OVERRIDES.read_text())["@jupyterlab/mainmenu-extension:plugin"]["menus"]
    return [item for menu in menus if menu["id"] == menu_id for item in menu["items"] if "command" in item]


@pytest.mark.parametrize("menu_id", ["jp-mainmenu-file", "jp-mainmenu-enclave"])
def test_release_results_opens_the_airlock_in_a_new_tab(menu_id):
    [release] = [e for e in entries(menu_id) if e["args"]["text"].startswith("Release results")]
    # help:open is JupyterLab's own command: it opens http(s) URLs, here in a new browser tab
    assert release["command"] == "help:open"
    assert release["args"]["url"] == AIRLOCK and release["args"]["newBrowserTab"] is True
