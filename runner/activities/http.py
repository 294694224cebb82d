"""``http.request`` with httpx.

The response body is streamed in chunks so a stop request or the node's deadline interrupts a
slow download; connect/read timeouts are bounded by the node's remaining time.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from workflows.catalog.http import AUTH, METHODS

from .base import ActivityError, Context, activity, boolean, number, text

#: largest response body kept in memory
MAX_BODY = 50 * 1024 * 1024
#: the port a URL without one connects to
DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_guard(ctx: Context) -> list[Any]:
    """httpx request hooks that refuse, before connecting, to send the node's credential to
    a host it is not bound to. httpx runs request hooks for every request it sends, each
    redirect included, so a redirect cannot carry the secret elsewhere either."""
    cred = ctx.credential
    if cred is None or not cred.bound:
        return []

    def check(request: httpx.Request) -> None:
        url = request.url
        port = url.port if url.port is not None else DEFAULT_PORTS.get(url.scheme)
        cred.check_host(url.host, port, what=f"{request.method} {url.scheme}://{url.host}")

    return [check]


def _mapping(params: dict[str, Any], name: str) -> dict[str, str]:
    value = params.get(name)
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ActivityError(f"param {name!r} must be an object, got {type(value).__name__}")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _auth(params: dict[str, Any], ctx: Context, headers: dict[str, str]) -> httpx.BasicAuth | None:
    kind = text(params, "auth", "none") or "none"
    if kind not in AUTH:
        raise ActivityError(f"param 'auth' must be one of {', '.join(AUTH)}, got {kind!r}")
    cred = ctx.credential
    if kind == "basic":
        username = params.get("username") or (cred.username if cred else None)
        password = params.get("password") or (cred.secret if cred else None)
        if not username:
            raise ActivityError("basic auth needs 'username' (or a credential)")
        return httpx.BasicAuth(str(username), str(password or ""))
    if kind == "bearer":
        token = params.get("token") or (cred.secret if cred else None)
        if not token:
            raise ActivityError("bearer auth needs 'token' (or a credential)")
        headers["Authorization"] = f"Bearer {token}"
    return None


@activity("http.request")
def request(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    url = text(params, "url")
    method = (text(params, "method", "GET") or "GET").upper()
    if method not in METHODS:
        raise ActivityError(f"param 'method' must be one of {', '.join(METHODS)}, got {method!r}")
    headers = _mapping(params, "headers")
    query = _mapping(params, "query")
    auth = _auth(params, ctx, headers)
    bodies = [k for k in ("json", "form", "body") if params.get(k) not in (None, "")]
    if len(bodies) > 1:
        raise ActivityError(f"give only one of json, form and body (got {', '.join(bodies)})")
    kwargs: dict[str, Any] = {}
    if bodies == ["json"]:
        kwargs["json"] = params["json"]
    elif bodies == ["form"]:
        kwargs["data"] = _mapping(params, "form")
    elif bodies == ["body"]:
        kwargs["content"] = text(params, "body").encode()
    limit = number(params, "timeout", 30)
    if limit <= 0:
        raise ActivityError("param 'timeout' must be positive")
    timeout = max(ctx.remaining(limit) or 0.0, 0.001)
    give_up = time.monotonic() + limit  # `timeout` bounds the whole request, not each read
    ctx.check()
    try:
        with httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=boolean(params, "verify_tls", True),
            follow_redirects=boolean(params, "follow_redirects", True),
            event_hooks={"request": _host_guard(ctx)},
        ) as client:
            # merged, not passed as params=: httpx 0.28 replaces the URL's own query string
            # with params (an empty dict clears it)
            target = httpx.URL(url).copy_merge_params(query) if query else url
            with client.stream(method, target, headers=headers, auth=auth, **kwargs) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    ctx.check()
                    if time.monotonic() > give_up:
                        raise httpx.ReadTimeout("the whole request took too long")
                    size += len(chunk)
                    if size > MAX_BODY:
                        raise ActivityError(f"response body larger than {MAX_BODY} bytes")
                    chunks.append(chunk)
                raw = b"".join(chunks)
    except httpx.TimeoutException:
        raise ActivityError(f"{method} {url}: no answer within {timeout:g} s") from None
    except httpx.InvalidURL as exc:
        raise ActivityError(f"invalid URL {url!r}: {exc}") from None
    except httpx.HTTPError as exc:
        raise ActivityError(f"{method} {url} failed: {exc}") from None
    body = raw.decode(response.encoding or "utf-8", errors="replace")
    try:
        parsed = json.loads(body) if body.strip() else None
    except ValueError:
        parsed = None
    result = {
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": body,
        "json": parsed,
    }
    ctx.log("debug", f"{method} {url} -> {response.status_code} ({len(raw)} bytes)")
    if boolean(params, "fail_on_status") and response.status_code >= 400:
        raise ActivityError(
            f"{method} {url} answered {response.status_code} {response.reason_phrase}: {body[:200]}"
        )
    return result
