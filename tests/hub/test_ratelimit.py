"""Rate limiting: 429 with Retry-After on user endpoints; exempt routes by exact template."""

from __future__ import annotations

import uuid

import falcon.testing
import pytest
import redis

from hub.app import create_app
from hub.config import load_settings
from hub.ratelimit import RateLimiter
from tests.support import REDIS_URL, Api


@pytest.fixture
def limited(tmp_path, vendor_keys):
    def build(limit: int, redis_url: str = "") -> Api:
        settings = load_settings(
            str(tmp_path / uuid.uuid4().hex),
            database_url=f"sqlite:///{tmp_path / uuid.uuid4().hex}.db",
            license_public_key=str(vendor_keys[1]),
            bcrypt_rounds=4,
            rate_limit_per_minute=limit,
            redis_url=redis_url,
        )
        return Api(falcon.testing.TestClient(create_app(settings)))

    return build


def test_user_endpoints_limited_with_retry_after(limited):
    api = limited(5)
    codes = [api.get("/api/auth/me").status_code for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    res = api.get("/api/auth/me")
    assert 1 <= int(res.headers["retry-after"]) <= 60
    assert res.json["code"] == "rate_limited"
    # another client has its own budget
    assert api.get("/api/auth/me", remote_addr="10.9.9.9").status_code == 401


def test_health_is_exempt(limited):
    api = limited(2)
    assert all(api.get("/api/health").status_code == 200 for _ in range(10))


def test_exemptions_are_declared_on_each_endpoint(limited):
    """The limit is part of each endpoint's declaration: runner routes are not limited unless
    they say so (a new one cannot forget), user routes are, and only health, authenticate and
    webhooks (which have limits of their own) opt out. Every /api route is a declared endpoint,
    so nothing escapes by being undeclared."""
    api = limited(1000)
    app = api.client.app
    exempt, limited_runner = set(), set()
    for path, resource, suffix in app.routes.table:
        for method in ("get", "post", "put", "patch", "delete"):
            responder = getattr(resource, f"on_{method}" + (f"_{suffix}" if suffix else ""), None)
            if responder is None or not path.startswith("/api/"):
                continue
            spec = getattr(responder, "__endpoint__", None)
            assert spec is not None, f"{method.upper()} {path} is not an @endpoint"
            if not spec.rate_limited:
                exempt.add(path)
            elif spec.auth == "runner":
                limited_runner.add(path)
    assert not limited_runner
    assert {p for p in exempt if not p.startswith("/api/runner/")} == {
        "/api/health",
        "/api/triggers/webhook/{trigger_id}",
    }
    assert "/api/runner/authenticate" in exempt and "/api/runner/poll" in exempt


def test_runner_routes_are_not_counted_and_user_routes_are(limited):
    api = limited(3)
    for _ in range(6):  # a runner's unauthenticated polls: 401, never 429
        assert api.get("/api/runner/poll").status_code == 401
    codes = [api.get("/api/auth/me").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_counters_shared_through_redis(limited):
    key = uuid.uuid4().hex
    r = redis.Redis.from_url(REDIS_URL)
    a = RateLimiter(3, redis_client=r)
    b = RateLimiter(3, redis_client=r)
    results = [a.hit(key, now=1000.0), b.hit(key, now=1000.0), a.hit(key, now=1000.0)]
    assert results == [None, None, None]
    assert b.hit(key, now=1000.0) is not None  # the fourth hit, from the "other process"


def test_redis_down_falls_back_to_memory():
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    lim = RateLimiter(2, redis_client=dead)
    assert lim.hit("k", now=5.0) is None and lim.hit("k", now=5.0) is None
    assert lim.hit("k", now=5.0) is not None
