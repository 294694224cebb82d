"""HTTP/REST calls."""

from __future__ import annotations

from . import Activity, Param, category, register

category("http", "API")

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
AUTH = ("none", "basic", "bearer")

register(
    Activity(
        type="http.request",
        title="HTTP request",
        description=(
            "Call a web API. The response goes into `output` as {status, headers, body, json} "
            "(json is null when the body is not JSON). Send either `json`, `form` or `body`. "
            "With `credential` and basic/bearer auth but no username/password/token, the vault "
            "credential's username and secret are used. HTTP error statuses do not fail the "
            "node unless `fail_on_status` is set."
        ),
        params=(
            Param("url", "string", required=True),
            Param("method", "choice", default="GET", choices=METHODS),
            Param("headers", "object", description="request headers"),
            Param("query", "object", description="query-string parameters"),
            Param("json", "any", description="a JSON body"),
            Param("form", "object", description="a form (urlencoded) body"),
            Param("body", "text", description="a raw text body"),
            Param("auth", "choice", default="none", choices=AUTH),
            Param("username", "string"),
            Param("password", "string", secret=True),
            Param("token", "string", secret=True, description="bearer token"),
            Param("credential", "string", description="vault credential name"),
            Param("timeout", "number", default=30, description="seconds"),
            Param("verify_tls", "boolean", default=True),
            Param("follow_redirects", "boolean", default=True),
            Param("fail_on_status", "boolean", default=False, description="fail on 4xx/5xx"),
            Param("output", "variable", description="variable for the response"),
        ),
        output="object",
    ),
)
