"""JWT (HS256) for users and runners, with distinct audiences so neither passes for the other."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import jwt

from .. import errors

USER_AUDIENCE = "exekra:user"
RUNNER_AUDIENCE = "exekra:runner"
ISSUER = "exekra-hub"


class TokenService:
    def __init__(self, secret: str, *, user_hours: int = 168, runner_hours: int = 24) -> None:
        self._secret = secret
        self.user_ttl = dt.timedelta(hours=user_hours)
        self.runner_ttl = dt.timedelta(hours=runner_hours)

    def _issue(self, sub: str, aud: str, typ: str, ttl: dt.timedelta, **claims: Any) -> tuple:
        now = dt.datetime.now(dt.UTC)
        exp = now + ttl
        payload = {
            "iss": ISSUER,
            "aud": aud,
            "sub": sub,
            "typ": typ,
            "iat": int(now.timestamp()),
            "exp": int(exp.timestamp()),
            "jti": secrets.token_hex(8),
            **claims,
        }
        return jwt.encode(payload, self._secret, algorithm="HS256"), exp

    def issue_user(
        self, user_id: int, token_version: int, binding: str | None
    ) -> tuple[str, dt.datetime]:
        """``bnd`` binds the token to this account (``users.token_binding``), not to its id."""
        return self._issue(
            str(user_id), USER_AUDIENCE, "user", self.user_ttl, ver=token_version, bnd=binding
        )

    def issue_runner(self, runner_id: int, secret_version: int) -> tuple[str, dt.datetime]:
        return self._issue(
            str(runner_id), RUNNER_AUDIENCE, "runner", self.runner_ttl, ver=secret_version
        )

    def decode(self, token: str, audience: str, typ: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=audience,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise errors.Unauthorized("the token has expired; sign in again") from None
        except jwt.InvalidTokenError:
            raise errors.Unauthorized("the token is not valid", code="invalid_token") from None
        if claims.get("typ") != typ or not str(claims.get("sub", "")).isdigit():
            raise errors.Unauthorized("the token is not valid", code="invalid_token")
        return claims
