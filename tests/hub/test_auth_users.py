"""Sign-in, tokens, users CRUD, roles on every endpoint, audit, validation, rate limiting."""

from __future__ import annotations

import datetime as dt
import re

import jwt
import pytest

from hub.api import METHODS
from hub.models import ROLE_RANK, AuditLog, User
from tests.support import PASSWORD


def test_login_sets_http_only_strict_cookie_and_me_works(licensed_api):
    api = licensed_api
    res = api.post("/api/auth/login", {"email": "dev@acme.test", "password": PASSWORD})
    assert res.status_code == 200
    cookie = res.headers["set-cookie"]
    assert "exekra_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP in tests; Secure behind TLS
    token = res.json["token"]
    me = api.get("/api/auth/me", token=token)
    assert me.status_code == 200 and me.json["role"] == "DEVELOPER"
    # the cookie alone authenticates too
    me = api.get("/api/auth/me", headers={"Cookie": f"exekra_session={token}"})
    assert me.status_code == 200 and me.json["email"] == "dev@acme.test"
    out = api.post("/api/auth/logout", token=token)
    assert out.status_code == 200 and 'exekra_session=""' in out.headers["set-cookie"]


def test_secure_cookie_behind_tls(licensed_api):
    res = licensed_api.post(
        "/api/auth/login",
        {"email": "dev@acme.test", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in res.headers["set-cookie"]


def test_wrong_password_and_unknown_user_look_the_same(licensed_api):
    a = licensed_api.post("/api/auth/login", {"email": "dev@acme.test", "password": "nope-nope"})
    b = licensed_api.post("/api/auth/login", {"email": "who@acme.test", "password": "nope-nope"})
    assert a.status_code == b.status_code == 401
    assert a.json == b.json


@pytest.mark.parametrize("kind", ["tampered", "alg_none", "other_secret", "expired", "runner_aud"])
def test_bad_tokens_are_401(licensed_api, hub_settings, kind):
    api = licensed_api
    good = api.tokens["ADMIN"]
    claims = jwt.decode(good, options={"verify_signature": False})
    secret = hub_settings.jwt_secret()
    if kind == "tampered":
        head, body, sig = good.split(".")
        token = f"{head}.{body}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    elif kind == "alg_none":
        token = jwt.encode(claims, None, algorithm="none")
    elif kind == "other_secret":
        token = jwt.encode(claims, "x" * 48, algorithm="HS256")
    elif kind == "expired":
        past = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).timestamp())
        token = jwt.encode({**claims, "exp": past}, secret, algorithm="HS256")
    else:
        token = jwt.encode({**claims, "aud": "exekra:runner"}, secret, algorithm="HS256")
    res = api.get("/api/users", token=token)
    assert res.status_code == 401, kind
    # a token without exp is refused even when correctly signed
    no_exp = {k: v for k, v in claims.items() if k != "exp"}
    assert api.get("/api/users", token=jwt.encode(no_exp, secret)).status_code == 401


def test_users_crud_and_token_invalidation(licensed_api):
    api = licensed_api
    res = api.post(
        "/api/users",
        {"email": "New@Acme.test", "password": PASSWORD, "name": "New"},
        as_="ADMIN",
    )
    assert res.status_code == 201
    new = res.json
    assert new["role"] == "OPERATOR" and new["email"] == "new@acme.test"
    dup = api.post(
        "/api/users", {"email": "new@acme.test", "password": PASSWORD, "name": "x"}, as_="ADMIN"
    )
    assert dup.status_code == 409
    token = api.login("new@acme.test")
    assert api.get("/api/auth/me", token=token).status_code == 200
    # changing the password ends old sessions
    res = api.patch(f"/api/users/{new['id']}", {"password": "another-password"}, as_="ADMIN")
    assert res.status_code == 200
    assert api.get("/api/auth/me", token=token).status_code == 401
    token = api.login("new@acme.test", "another-password")
    # disabling ends sessions and refuses login
    assert api.patch(f"/api/users/{new['id']}", {"active": False}, as_="ADMIN").status_code == 200
    assert api.get("/api/auth/me", token=token).status_code == 401
    bad = api.post("/api/auth/login", {"email": "new@acme.test", "password": "another-password"})
    assert bad.status_code == 401
    # re-enable, log in, delete: the token dies with the user
    api.patch(f"/api/users/{new['id']}", {"active": True}, as_="ADMIN")
    token = api.login("new@acme.test", "another-password")
    assert api.delete(f"/api/users/{new['id']}", as_="ADMIN").status_code == 204
    assert api.get("/api/auth/me", token=token).status_code == 401
    assert api.get(f"/api/users/{new['id']}", as_="ADMIN").status_code == 404
    actions = {e["action"] for e in api.get("/api/audit", as_="ADMIN").json["items"]}
    assert {"user.create", "user.update", "user.delete"} <= actions


def test_admin_cannot_lock_themselves_out(licensed_api):
    api = licensed_api
    me = api.users["ADMIN"]["id"]
    assert api.patch(f"/api/users/{me}", {"role": "OPERATOR"}, as_="ADMIN").status_code == 409
    assert api.patch(f"/api/users/{me}", {"active": False}, as_="ADMIN").status_code == 409
    assert api.delete(f"/api/users/{me}", as_="ADMIN").status_code == 409
    assert User.get_by_id(me).role == "ADMIN"


@pytest.mark.parametrize(
    "body, code",
    [
        ('{"email": "a@b.test", "password": "longenough", "name": "A", "x": 1}', "unknown_field"),
        ('{"email": "a@b.test", "password": 12345678, "name": "A"}', "invalid_input"),
        ('{"email": "a@b.test", "password": "longenough"}', "invalid_input"),
        ('{"email": "a@b.test", ', "malformed_json"),
        ("[1, 2]", "invalid_input"),
        ('{"email": "not-an-email", "password": "longenough", "name": "A"}', "invalid_input"),
        (
            '{"email": "a@b.test", "password": "longenough", "name": "A", "role": "GOD"}',
            "invalid_input",
        ),
        ('{"email": "a@b.test", "password": "' + "p" * 80 + '", "name": "A"}', "invalid_input"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(licensed_api, body, code):
    before = User.select().count()
    audit_before = AuditLog.select().count()
    res = licensed_api.post("/api/users", body=body, as_="ADMIN")
    assert res.status_code == 400, res.text
    assert res.json["code"] == code
    assert User.select().count() == before and AuditLog.select().count() == audit_before


def test_oversized_body_is_413_and_changes_nothing(licensed_api, hub_settings):
    before = User.select().count()
    big = (
        '{"email": "a@b.test", "password": "longenough", "name": "'
        + "A" * (hub_settings.max_body_bytes + 10)
        + '"}'
    )
    res = licensed_api.post("/api/users", body=big, as_="ADMIN")
    assert res.status_code == 413 and res.json["code"] == "payload_too_large"
    assert User.select().count() == before


def test_bad_query_parameters(licensed_api):
    api = licensed_api
    assert api.get("/api/users", params={"limit": "0"}, as_="ADMIN").status_code == 400
    assert api.get("/api/users", params={"limit": "501"}, as_="ADMIN").status_code == 400
    assert api.get("/api/users", params={"limit": "ten"}, as_="ADMIN").status_code == 400
    assert api.get("/api/users", params={"bogus": "1"}, as_="ADMIN").status_code == 400
    res = api.get("/api/users", params={"limit": "2"}, as_="ADMIN")
    assert len(res.json["items"]) == 2 and res.json["total"] == 3


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_role_on_every_endpoint(licensed_api, hub_app):
    """Each declared endpoint refuses anonymous callers (401) and roles below its own (403)."""
    api = licensed_api
    checked = 0
    for path, resource, suffix in hub_app.routes.table:
        for method in METHODS:
            fn = getattr(resource, f"on_{method}" + (f"_{suffix}" if suffix else ""), None)
            spec = getattr(fn, "__endpoint__", None)
            if spec is None or spec.auth != "user":
                continue
            url = _fill(path)
            res = api.request(method.upper(), url, body="{}")
            assert res.status_code == 401, f"{method} {path} anonymous -> {res.status_code}"
            for role, rank in ROLE_RANK.items():
                res = api.request(method.upper(), url, body="{}", as_=role)
                allowed = spec.role is None or rank >= ROLE_RANK[spec.role]
                if allowed:
                    assert res.status_code != 403 or res.json.get("code") != "forbidden", (
                        f"{role} refused on {method} {path}"
                    )
                else:
                    assert res.status_code == 403, f"{role} allowed on {method} {path}"
                checked += 1
    assert checked >= 15


def test_runner_token_is_not_a_user_token(licensed_api, hub_app):
    token, _ = hub_app.hub.tokens.issue_runner(1, 1)
    assert licensed_api.get("/api/auth/me", token=token).status_code == 401


def test_audit_filters(licensed_api):
    api = licensed_api
    items = api.get("/api/audit", params={"action": "user.create"}, as_="ADMIN").json["items"]
    assert len(items) == 2 and all(i["action"] == "user.create" for i in items)
    admin_id = api.users["ADMIN"]["id"]
    items = api.get("/api/audit", params={"user_id": str(admin_id)}, as_="ADMIN").json["items"]
    assert items and all(i["user_id"] == admin_id for i in items)
    assert all(i["ip"] for i in items)
    items = api.get("/api/audit", params={"action": "auth.*"}, as_="ADMIN").json["items"]
    assert items and all(i["action"].startswith("auth.") for i in items)
    assert api.get("/api/audit", params={"since": "yesterday"}, as_="ADMIN").status_code == 400
    assert api.get("/api/audit", as_="DEVELOPER").status_code == 403
