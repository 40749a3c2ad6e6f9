"""The hub's configuration is a pure function of the settings, tested as TLJH tests its configurer.

Given settings (and the secrets start-up made), assert the resulting config
values; and that computing it writes nothing and patches nothing.
"""

from __future__ import annotations

import stat

import pytest
from jupyterhub.handlers.base import BaseHandler

from enclave.errors import EnclaveError
from enclave.hub.config import hub_config
from enclave.hub.startup import HubSecrets, prepare_hub, read_hub_secrets
from enclave.settings import EnclaveSettings

SECRETS = HubSecrets(proxy_token="proxy-secret", operator_token="operator-secret")
PROXY = ["/opt/chp/configurable-http-proxy"]


def apply_mock_config(tmp_path, **overrides):
    """The configuration for an installation in tmp_path with the given settings."""
    settings = EnclaveSettings(state_dir=str(tmp_path / "state"), instance="inst", **overrides)
    return settings, hub_config(settings, SECRETS, PROXY)


def test_the_hub_listens_on_loopback_only_and_workspaces_are_given_the_gate(tmp_path):
    _, c = apply_mock_config(tmp_path, hub_port=9181, hub_internal_port=9183)
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:9183"
    assert "hub_ip" not in c.JupyterHub and "hub_port" not in c.JupyterHub


def test_the_proxy_listens_on_loopback_behind_the_edge_and_passes_its_forwarded_headers_on(tmp_path):
    settings, c = apply_mock_config(tmp_path, proxy_port=9102, proxy_api_port=9101)
    assert (c.JupyterHub.ip, c.JupyterHub.port) == ("127.0.0.1", 9102)
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:9101"
    assert c.ConfigurableHTTPProxy.command == [*PROXY, "--no-x-forward"]
    assert c.ConfigurableHTTPProxy.auth_token == "proxy-secret"
    assert c.ConfigurableHTTPProxy.pid_file == str(settings.hub_dir / "proxy.pid")
    assert c.JupyterHub.tornado_settings == {"cookie_options": {"secure": True}}


def test_the_hubs_files_are_in_its_folder_of_the_state(tmp_path):
    settings, c = apply_mock_config(tmp_path)
    assert c.JupyterHub.db_url == f"sqlite:///{settings.hub_dir / 'jupyterhub.sqlite'}"
    assert c.JupyterHub.cookie_secret_file == str(settings.hub_dir / "jupyterhub_cookie_secret")


def test_the_hubs_database_can_be_a_server(tmp_path):
    _, c = apply_mock_config(tmp_path, hub_database_url="postgresql+psycopg://hub@db.internal/hub")
    assert c.JupyterHub.db_url == "postgresql+psycopg://hub@db.internal/hub"


def test_enclave_login_and_one_named_workspace_per_project(tmp_path):
    _, c = apply_mock_config(tmp_path)
    assert c.JupyterHub.authenticator_class == "enclave"
    assert c.JupyterHub.spawner_class == "enclave"
    assert c.JupyterHub.allow_named_servers is True and c.JupyterHub.named_server_limit_per_user == 0
    assert c.JupyterHub.default_url == "/hub/home"
    assert c.Spawner.default_url == "/lab"
    assert (c.Spawner.start_timeout, c.Spawner.http_timeout) == (120, 90)
    assert c.JupyterHub.cleanup_servers is False  # a hub restart keeps workspaces and kernels


def test_swarm_mode_names_the_swarm_spawner(tmp_path):
    _, c = apply_mock_config(tmp_path, spawner="enclave-swarm")
    assert c.JupyterHub.spawner_class == "enclave-swarm"


def test_the_operator_service_has_its_token_and_the_airlock_is_a_hub_service_on_its_port(tmp_path):
    _, c = apply_mock_config(tmp_path, egress_port=9082)
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert services["enclave-operator"]["api_token"] == "operator-secret"
    assert services["egress-review"]["url"].endswith(":9082")


def test_roles_give_least_privilege(tmp_path):
    _, c = apply_mock_config(tmp_path)
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["user"]["scopes"] == ["self"]
    assert roles["enclave-analyst"]["groups"] == ["analyst"]
    assert "custom:egress:review" in roles["enclave-reviewer"]["scopes"]
    operator_service = roles["enclave-operator-service"]
    assert operator_service["services"] == ["enclave-operator"]
    assert not any(scope.startswith("access:servers") for scope in operator_service["scopes"])
    assert {"custom:egress:request", "custom:egress:review", "custom:egress:operate"} <= set(c.JupyterHub.custom_scopes)


def test_the_home_page_lists_no_projects_to_nobody(tmp_path):
    _, c = apply_mock_config(tmp_path)
    assert c.JupyterHub.template_vars["enclave_projects"](None) == []


def test_computing_the_configuration_writes_nothing_and_patches_nothing(tmp_path):
    flush = BaseHandler.flush
    settings, first = apply_mock_config(tmp_path)
    assert not settings.state_path.exists()
    assert BaseHandler.flush is flush
    _, second = apply_mock_config(tmp_path)
    assert first.ConfigurableHTTPProxy == second.ConfigurableHTTPProxy and first.Spawner == second.Spawner


def test_start_up_makes_the_secrets_root_only_and_the_configuration_reads_them(tmp_path):
    settings = EnclaveSettings(state_dir=str(tmp_path / "state"), instance="inst")
    made = prepare_hub(settings)
    assert stat.S_IMODE(settings.hub_dir.stat().st_mode) == 0o700
    for secret in settings.hub_dir.iterdir():
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert read_hub_secrets(settings.hub_dir) == made == prepare_hub(settings)  # made once, then kept


def test_a_hub_started_without_its_secrets_is_told_how_to_start(tmp_path):
    with pytest.raises(EnclaveError, match="enclave up"):
        read_hub_secrets(tmp_path / "hub")
