"""Request plumbing: context, database connection, rate limiting, security headers."""

from __future__ import annotations

from typing import Any

import falcon

from . import db, errors
from .ratelimit import RateLimiter

#: Exempt from the per-client limit, by exact route template (never by prefix or suffix).
RATE_LIMIT_EXEMPT = frozenset(
    {
        "/api/health",
        "/api/runner/heartbeat",
        "/api/runner/poll",
        "/api/runner/executions/{execution_id:int}/status",
        "/api/runner/executions/{execution_id:int}/logs",
        "/api/runner/executions/{execution_id:int}/artifacts",
        "/api/runner/executions/{execution_id:int}/repairs",
        "/api/triggers/webhook/{trigger_id}",
        # authenticate has its own, stricter limiter per machine key and client
        "/api/runner/authenticate",
    }
)


def client_ip(req: falcon.Request, trusted: frozenset[str]) -> str:
    remote = req.remote_addr or "unknown"
    if remote in trusted:
        forwarded = req.get_header("X-Forwarded-For")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return remote


class ContextMiddleware:
    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.trusted = frozenset(
            ip.strip() for ip in hub.settings.trusted_proxies.split(",") if ip.strip()
        )

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.hub = self.hub
        req.context.auth = self.hub.auth
        req.context.max_body_bytes = self.hub.settings.max_body_bytes
        req.context.ip = client_ip(req, self.trusted)
        req.context.user = None


class DatabaseMiddleware:
    """Each waitress thread keeps its connection; a broken one is dropped after the request."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        db.ensure_connected()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        if getattr(req.context, "db_broken", False):
            db.drop_connection()


class RateLimitMiddleware:
    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict
    ) -> None:
        template = req.uri_template or ""
        if not template.startswith("/api/") or template in RATE_LIMIT_EXEMPT:
            return
        retry = self.limiter.hit("client:" + req.context.ip)
        if retry is not None:
            raise errors.RateLimited(retry)


class SecurityHeadersMiddleware:
    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "no-referrer")
        resp.set_header("X-Frame-Options", "DENY")
        if req.path.startswith("/api/"):
            resp.set_header("Cache-Control", "no-store")
