"""The web view's browser-facing protections: headers, CSRF tokens, safe redirects.

- Every HTML answer carries a strict Content-Security-Policy (no inline script or style: the
  pages use one stylesheet and one script from ``/static``), ``no-store`` caching, and the
  hub-wide ``X-Content-Type-Options`` / ``Referrer-Policy`` headers.
- Sign-in uses a double-submit token: a random nonce signed with the hub's secret is set as an
  HTTP-only SameSite=Strict cookie and repeated in the form; the POST must bring both, equal
  and correctly signed.
- Sign-out carries a token derived from the session cookie itself (HMAC), so another site can
  neither forge it nor sign a user out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import falcon

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
CSRF_COOKIE = "exekra_csrf"


def page_headers(resp: falcon.Response) -> None:
    resp.set_header("Content-Security-Policy", CSP)
    resp.set_header("Cache-Control", "no-store")
    resp.set_header("X-Content-Type-Options", "nosniff")
    resp.set_header("Referrer-Policy", "no-referrer")
    resp.set_header("X-Frame-Options", "DENY")


class Tokens:
    """Signs and checks the sign-in and sign-out tokens with a key derived from the hub secret."""

    def __init__(self, secret: str) -> None:
        self.key = hashlib.sha256(b"exekra-web-csrf\0" + secret.encode()).digest()

    def _sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self.key, f"{purpose}\0{value}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def new_signin(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._sign('signin', nonce)}"

    def check_signin(self, cookie: str | None, form: str | None) -> bool:
        if not cookie or not form or not hmac.compare_digest(cookie, form):
            return False
        nonce, _, sig = form.partition(".")
        return bool(nonce) and hmac.compare_digest(sig, self._sign("signin", nonce))

    def signout(self, session: str) -> str:
        return self._sign("signout", hashlib.sha256(session.encode()).hexdigest())

    def check_signout(self, session: str | None, form: str | None) -> bool:
        if not session or not form:
            return False
        return hmac.compare_digest(form, self.signout(session))


def safe_next(target: str | None) -> str:
    """Only same-site paths may follow sign-in (no ``//host``, no scheme, no backslashes)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
        or target.startswith("/signin")
        or target.startswith("/api/")
    ):
        return "/"
    return target
