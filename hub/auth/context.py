"""Who is calling: the user behind a bearer token / session cookie, or a runner's claims."""

from __future__ import annotations

import time
from typing import Any

import falcon

from .. import errors
from ..models import User
from .tokens import RUNNER_AUDIENCE, USER_AUDIENCE, TokenService

COOKIE_NAME = "exekra_session"


def bearer_token(req: falcon.Request) -> str | None:
    header = req.get_header("Authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise errors.Unauthorized("use `Authorization: Bearer <token>`")
        return value.strip()
    return None


class Auth:
    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens
        self._runner_cache: dict[str, dict[str, Any]] = {}

    def current_user(self, req: falcon.Request) -> User:
        cached = getattr(req.context, "user", None)
        if cached is not None:
            return cached
        token = bearer_token(req)
        if token is None:
            cookies = req.get_cookie_values(COOKIE_NAME)
            token = cookies[0] if cookies else None
        if not token:
            raise errors.Unauthorized("sign in first (no token or session cookie)")
        claims = self.tokens.decode(token, USER_AUDIENCE, "user")
        user = User.get_or_none(User.id == int(claims["sub"]))
        if (
            user is None
            or not user.active
            or user.token_version != claims.get("ver")
            or not user.token_binding
            or user.token_binding != claims.get("bnd")
        ):
            raise errors.Unauthorized("the session is no longer valid; sign in again")
        req.context.user = user
        return user

    def optional_user(self, req: falcon.Request) -> User | None:
        try:
            return self.current_user(req)
        except errors.Unauthorized:
            return None

    def runner_claims(self, req: falcon.Request) -> dict[str, Any]:
        token = bearer_token(req)
        if not token:
            raise errors.Unauthorized("runner endpoints need `Authorization: Bearer <token>`")
        # Runners repeat the same token every few seconds (poll/heartbeat, the hottest path):
        # a token whose signature was verified is remembered until it expires. The caller
        # still checks the runner row and the secret version on every request.
        cached = self._runner_cache.get(token)
        if cached is not None and cached["exp"] > time.time():
            return cached
        claims = self.tokens.decode(token, RUNNER_AUDIENCE, "runner")
        if len(self._runner_cache) >= 20_000:
            self._runner_cache.clear()
        self._runner_cache[token] = claims
        return claims
