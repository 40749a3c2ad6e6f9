"""Hub service definition, configuration, error mapping, previews, OpenAPI."""

import inspect
import re

import pytest

from egress_review.config import EgressReview
from egress_review.domain import exceptions as E
from egress_review.integration import CUSTOM_SCOPES, hub_service_definition
from egress_review.web.errors import STATUS, status_for
from egress_review.web.previews import preview


def test_service_definition_is_a_valid_jupyterhub_service_with_no_roles():
    from jupyterhub.services.service import Service

    d = hub_service_definition(10101, data_dir="/srv/egress")
    assert d["name"] == "egress-review" and d["url"] == "http://127.0.0.1:10101"
    assert d["command"][1:3] == ["-m", "egress_review"]
    assert "roles" not in d and not d.get("admin")
    assert set(d["oauth_client_allowed_scopes"]) == set(CUSTOM_SCOPES)
    input_traits = {name for name, t in Service.class_traits().items() if t.metadata.get("input")}
    assert set(d) <= input_traits, set(d) - input_traits


def test_custom_scopes_have_descriptions_and_the_custom_prefix():
    assert set(CUSTOM_SCOPES) == {"custom:egress:request", "custom:egress:review", "custom:egress:operate"}
    assert all(v["description"] for v in CUSTOM_SCOPES.values())


def test_external_service_has_no_command():
    assert "command" not in hub_service_definition(10101, managed=False)
    with pytest.raises(ValueError):
        hub_service_definition(0)


def test_config_reads_the_hub_environment(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/services/egress-review/")
    monkeypatch.setenv("JUPYTERHUB_BASE_URL", "/jh/")
    monkeypatch.setenv("EGRESS_REVIEW_DATA_DIR", "/tmp/egress-data")
    cfg = EgressReview()
    assert (cfg.listen_host, cfg.listen_port) == ("127.0.0.1", 9999)
    assert cfg.base_url == "/services/egress-review/" and cfg.hub_prefix == "/jh/hub/"
    assert cfg.db_url == "sqlite:////tmp/egress-data/egress-review.sqlite"


def test_config_rejects_nonsense_with_a_readable_message():
    from traitlets import TraitError

    with pytest.raises(TraitError, match="at least 1"):
        EgressReview(max_files_per_request=0)
    with pytest.raises(TraitError, match="SQLite or PostgreSQL"):
        EgressReview(db_url="mysql://x")


def test_every_setting_has_help():
    for name, trait in EgressReview.class_traits(config=True).items():
        assert trait.help and len(trait.help) > 10, name


def test_every_domain_exception_has_an_explicit_http_status():
    classes = [
        c for _, c in inspect.getmembers(E, inspect.isclass) if issubclass(c, E.EgressError) and c is not E.EgressError
    ]
    missing = [c.__name__ for c in classes if c not in STATUS]
    assert missing == []
    assert status_for(E.SymlinkRefused("x")) == 422 and status_for(E.MissingScope("x")) == 403


def test_error_codes_are_unique():
    classes = [c for _, c in inspect.getmembers(E, inspect.isclass) if issubclass(c, E.EgressError)]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))


def test_csv_preview_is_a_table_of_the_first_rows():
    content = "g,n\n" + "".join(f"r{i},{i}\n" for i in range(50))
    p = preview(1, "t.csv", content.encode(), [], 5)
    assert p.kind == "table" and p.columns == ["g", "n"] and len(p.rows) == 5 and p.total_rows == 50


def test_png_is_an_image_and_text_stays_text():
    assert preview(1, "x.bin", b"\x89PNG\r\n\x1a\n....", [], 5).kind == "image"
    p = preview(1, "notes.txt", b"<script>alert(1)</script>", [], 5)
    assert p.kind == "text" and p.text_lines == ["<script>alert(1)</script>"]  # escaped by the template
    assert preview(1, "a.exe", b"MZ\x90\x00\xff\xfe", [], 5).kind == "none"


def test_openapi_documents_every_api_route():
    from egress_review.web.api import api_routes
    from egress_review.web.openapi import openapi_spec

    spec = openapi_spec("/services/egress-review/")
    routed = set()
    for pattern, _ in api_routes("/"):
        if pattern.endswith(".*"):
            continue
        path = pattern
        names = iter(["request_id", "file_id"])
        path = re.sub(r"\(\[\^/\]\+\)", lambda m: "{" + next(names) + "}", path)
        routed.add(path.replace("\\", ""))
    assert routed == set(spec["paths"])
