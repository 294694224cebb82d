"""Request plumbing: context, database connection, rate limiting, security headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import falcon

from . import db, errors
from .auth.context import Auth
from .ratelimit import RateLimiter


def client_ip(req: falcon.Request, trusted: frozenset[str]) -> str:
    remote = req.remote_addr or "unknown"
    if remote in trusted:
        forwarded = req.get_header("X-Forwarded-For")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return remote


class ContextMiddleware:
    """What every responder may use: the authenticator, the per-client limiter, the body cap
    and the client's address (``X-Forwarded-For`` only from a trusted proxy)."""

    def __init__(
        self, auth: Auth, limiter: RateLimiter, *, max_body_bytes: int, trusted: frozenset[str]
    ) -> None:
        self.auth = auth
        self.limiter = limiter
        self.max_body_bytes = max_body_bytes
        self.trusted = trusted

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.auth = self.auth
        req.context.limiter = self.limiter
        req.context.max_body_bytes = self.max_body_bytes
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


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Sec-Fetch-Site values of a request the hub's own pages (or the user, typing) made
SAME_SITE_FETCH = frozenset({"same-origin", "none"})


class OriginMiddleware:
    """Cookie-authenticated unsafe requests must come from the hub's own origin (CSRF).

    A session cookie is sent by the browser whatever page makes the request, so a POST, PUT,
    PATCH or DELETE that carries the cookie and no bearer token must show that it comes from
    the hub's own pages: ``Sec-Fetch-Site`` (modern browsers) must be ``same-origin`` (or
    ``none``); without it, an ``Origin`` header must name this host. Requests with neither header
    (non-browser clients using the cookie) and bearer-token clients are unaffected. SameSite
    on the cookie is the first line; this is the second.
    """

    def __init__(self, cookie_name: str, trusted: frozenset[str]) -> None:
        self.cookie_name = cookie_name
        self.trusted = trusted

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.method not in UNSAFE_METHODS or req.get_header("Authorization"):
            return
        if not req.get_cookie_values(self.cookie_name):
            return
        site = req.get_header("Sec-Fetch-Site")
        if site is not None:  # set by the browser itself, whatever the referrer policy
            if site.strip().lower() not in SAME_SITE_FETCH:
                raise errors.Forbidden(
                    f"a cross-site request ({site}) cannot use the session cookie",
                    code="cross_origin",
                )
            return
        origin = req.get_header("Origin")
        if origin is None:
            return
        if origin.strip() == "null" and not req.path.startswith("/api/"):
            # the hub's pages send no referrer, so older browsers post their forms with
            # "Origin: null"; those forms carry their own CSRF token (hub/web/security.py)
            return
        if not self._own(req, origin):
            raise errors.Forbidden(
                f"requests from {origin} cannot use the session cookie", code="cross_origin"
            )

    def _own(self, req: falcon.Request, origin: str) -> bool:
        parsed = urlsplit(origin.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return False  # "null" (sandboxed frames, file pages) and anything odd
        hosts = {(req.get_header("Host") or "").lower()}
        if (req.remote_addr or "") in self.trusted:
            forwarded = req.get_header("X-Forwarded-Host")
            if forwarded:
                hosts.add(forwarded.split(",")[0].strip().lower())
        return parsed.netloc.lower() in hosts


class SecurityHeadersMiddleware:
    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "no-referrer")
        resp.set_header("X-Frame-Options", "DENY")
        if req.path.startswith("/api/"):
            resp.set_header("Cache-Control", "no-store")
