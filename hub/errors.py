"""One domain error tree, one wire shape.

Services raise these; ``create_app`` registers one handler for the base class that turns any of
them into Falcon's JSON error body ``{"title", "description", "code", ...extra}`` with the
class's HTTP status. Nothing here knows about HTTP requests.
"""

from __future__ import annotations

from typing import Any


class ExekraError(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        description: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(description)
        self.description = description
        if code:
            self.code = code
        self.headers = headers or {}
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": self.title,
            "description": self.description,
            "code": self.code,
        }
        body.update(self.extra)
        return body


class BadRequest(ExekraError):
    status, code, title = 400, "bad_request", "Bad request"


class ValidationFailed(BadRequest):
    code, title = "invalid_input", "Invalid input"


class InvalidGraphError(BadRequest):
    code, title = "invalid_graph", "Invalid workflow graph"

    def __init__(self, problems: list[dict[str, Any]], description: str | None = None) -> None:
        n = len(problems)
        super().__init__(
            description or f"the workflow graph has {n} problem{'s' if n != 1 else ''}",
            problems=problems,
        )


class Unauthorized(ExekraError):
    status, code, title = 401, "not_authenticated", "Not authenticated"


class Forbidden(ExekraError):
    status, code, title = 403, "forbidden", "Forbidden"


class LicenseForbids(Forbidden):
    code, title = "license_required", "License does not allow this"


class NotFound(ExekraError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ExekraError):
    status, code, title = 409, "conflict", "Conflict"


class IllegalTransition(Conflict):
    code, title = "illegal_transition", "Illegal state change"


class PayloadTooLarge(ExekraError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class UnsupportedMediaType(ExekraError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class RateLimited(ExekraError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, retry_after: int, description: str | None = None) -> None:
        super().__init__(
            description or f"rate limit exceeded; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


class ServiceUnavailable(ExekraError):
    status, code, title = 503, "unavailable", "Service unavailable"
