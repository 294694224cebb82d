"""``/api/auth``: sign in (token + HTTP-only session cookie), sign out, who am I."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon
import msgspec

from ..api import Routes, endpoint, send
from ..auth.context import COOKIE_NAME
from ..auth.tokens import TokenService
from ..config import Settings
from ..ratelimit import RateLimiter
from ..services import audit
from ..services.users import UserService
from ..services.users import to_dict as user_dict

if TYPE_CHECKING:
    from ..app import Hub


class Login(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str


class UserOut(msgspec.Struct):
    id: int
    email: str
    name: str
    role: str
    active: bool
    created_at: str | None = None
    last_login_at: str | None = None


class LoginOut(msgspec.Struct):
    token: str
    expires_at: str
    user: UserOut


def secure_cookie(req: falcon.Request, setting: str) -> bool:
    if setting == "always":
        return True
    if setting == "never":
        return False
    forwarded = (req.get_header("X-Forwarded-Proto") or "").lower()
    return req.scheme == "https" or forwarded == "https"


def set_session_cookie(
    req: falcon.Request, resp: falcon.Response, settings: Settings, token: str
) -> None:
    resp.set_cookie(
        COOKIE_NAME,
        token,
        max_age=settings.user_token_hours * 3600,
        path="/",
        http_only=True,
        secure=secure_cookie(req, settings.secure_cookies),
        same_site="Strict",
    )


class LoginResource:
    def __init__(
        self,
        users: UserService,
        tokens: TokenService,
        limiter: RateLimiter,
        settings: Settings,
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.limiter = limiter
        self.settings = settings

    @endpoint(
        "Sign in",
        auth="public",
        body=Login,
        response=LoginOut,
        responses={
            401: "Wrong email or password",
            429: "Too many failed sign-ins for this account",
            503: "Too many sign-ins at once",
        },
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: Login = req.context.body
        user = self.users.sign_in(
            body.email, body.password, self.limiter, self.settings.login_attempts_per_account
        )
        token, exp = self.tokens.issue_user(user.id, user.token_version, user.token_binding)
        set_session_cookie(req, resp, self.settings, token)
        audit.record(user, "auth.login", f"user:{user.id}", ip=req.context.ip)
        send(
            resp,
            {
                "token": token,
                "expires_at": exp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "user": user_dict(user),
            },
        )


class LogoutResource:
    @endpoint("Sign out (clears the session cookie)", role=None)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.unset_cookie(COOKIE_NAME, path="/", same_site="Strict")
        send(resp, {"message": "signed out"})


class MeResource:
    @endpoint("The current user", role=None, response=UserOut)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, user_dict(req.context.auth.current_user(req)))


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/auth/login", LoginResource(hub.users, hub.tokens, hub.limiter, hub.settings))
    routes.add("/api/auth/logout", LogoutResource())
    routes.add("/api/auth/me", MeResource())
