"""A web server started in the workspace cannot be reached through jupyter-server-proxy.

No app is declared by the operator (c.ServerProxy.servers is empty), so every /proxy/ route refuses.
"""

import requests

from tests.integration.security.lockdown import CLOSED


def test_proxy_to_a_port_in_the_workspace_is_refused(browser, web_server):
    """RT-80: start a web server in the workspace and reach it through /proxy/<port>/."""
    reply = browser.get(f"proxy/{web_server}/")
    assert reply.status_code == 403 and CLOSED in reply.text
    assert "Directory listing" not in reply.text


def test_absolute_proxy_to_a_port_in_the_workspace_is_refused(browser, web_server):
    """RT-81: reach a web server in the workspace through /proxy/absolute/<port>/."""
    reply = browser.get(f"proxy/absolute/{web_server}/")
    assert reply.status_code == 403 and CLOSED in reply.text


def test_proxy_to_a_host_and_port_is_refused(browser, web_server):
    """RT-82: reach a web server in the workspace through /proxy/<host>:<port>/."""
    for host in ("localhost", "127.0.0.1"):
        reply = browser.get(f"proxy/{host}:{web_server}/")
        assert reply.status_code == 403 and CLOSED in reply.text


def test_proxy_websocket_upgrade_is_refused(browser, web_server):
    """RT-83: reach a web server in the workspace through /proxy/<port>/ as a websocket upgrade."""
    headers = {
        **browser.headers,
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    reply = requests.get(f"{browser.base}/proxy/{web_server}/", headers=headers, timeout=30)
    assert reply.status_code == 403
