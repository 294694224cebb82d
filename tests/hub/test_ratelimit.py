"""Rate limiting: 429 with Retry-After on user endpoints; exempt routes by exact template."""

from __future__ import annotations

import uuid

import falcon.testing
import pytest
import redis

from hub.app import create_app
from hub.config import load_settings
from hub.middleware import RATE_LIMIT_EXEMPT
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


def test_exemptions_are_exact_routes_not_prefixes():
    assert "/api/runner/poll" in RATE_LIMIT_EXEMPT
    assert all(not t.endswith("/") and "*" not in t for t in RATE_LIMIT_EXEMPT)


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
