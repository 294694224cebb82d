"""Foundation: health, OpenAPI, error shape, config, migrations (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import stat

import pytest
from openapi_spec_validator import validate

from hub.config import ConfigError, load_settings
from hub.migrations import migrate


def test_health(api):
    res = api.get("/api/health")
    assert res.status_code == 200
    body = res.json
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["queue"] in ("memory", "redis")
    assert body["license"] == "UNLICENSED"


def test_openapi_document_is_valid_and_covers_every_route(api, hub_app):
    res = api.get("/api/openapi.json")
    assert res.status_code == 200
    doc = res.json
    validate(doc)  # raises if not a valid OpenAPI 3 document
    assert doc["openapi"].startswith("3.")
    # every declared responder of every registered route is documented
    from hub.api import METHODS

    missing = []
    for path, resource, suffix in hub_app.routes.table:
        oa_path = path.replace(":int}", "}")
        for method in METHODS:
            name = f"on_{method}" + (f"_{suffix}" if suffix else "")
            if hasattr(resource, name):
                if not hasattr(getattr(resource, name), "__endpoint__"):
                    missing.append(f"{method.upper()} {path} (undeclared)")
                elif method not in doc["paths"].get(oa_path, {}):
                    missing.append(f"{method.upper()} {path}")
    assert not missing
    login = doc["paths"]["/api/auth/login"]["post"]
    schema_ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.endswith("/Login")


def test_error_body_shape_is_pinned(api):
    res = api.get("/api/does-not-exist")
    assert res.status_code == 404
    assert set(res.json) >= {"title", "code"}
    assert res.json["code"] == "not_found"
    res = api.get("/api/users")
    assert res.status_code == 401
    assert res.json == {
        "title": "Not authenticated",
        "description": "sign in first (no token or session cookie)",
        "code": "not_authenticated",
    }


def test_migrations_applied_twice_change_nothing(hub_app):
    database = hub_app.hub.database
    before = database.execute_sql("SELECT number, applied_at FROM schema_migrations").fetchall()
    assert migrate(database) == []
    after = database.execute_sql("SELECT number, applied_at FROM schema_migrations").fetchall()
    assert before == after and len(before) >= 1


def test_secrets_files_have_mode_0600(hub_settings, hub_app):
    for name in ("jwt-secret", "encryption.key"):
        mode = stat.S_IMODE((hub_settings.data_path / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert len(hub_settings.jwt_secret()) == 48
    assert len(hub_settings.encryption_key()) == 32


def test_settings_precedence(tmp_path, monkeypatch):
    (tmp_path / "hub-config.json").write_text(json.dumps({"port": 6000, "threads": 4}))
    monkeypatch.setenv("EXEKRA_THREADS", "8")
    s = load_settings(str(tmp_path))
    assert s.port == 6000 and s.threads == 8
    assert s.effective_database_url == f"sqlite:///{tmp_path}/hub.db"
    (tmp_path / "hub-config.json").write_text(json.dumps({"nonsense": 1}))
    with pytest.raises(ConfigError, match="unknown setting 'nonsense'"):
        load_settings(str(tmp_path))
    (tmp_path / "hub-config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_settings(str(tmp_path))
    monkeypatch.setenv("EXEKRA_PORT", "eighty")
    (tmp_path / "hub-config.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a valid"):
        load_settings(str(tmp_path))


def test_security_headers(api):
    res = api.get("/api/health")
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["referrer-policy"] == "no-referrer"
