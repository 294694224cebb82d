"""The hub's REST API as one async client, with typed errors carrying the hub's description.

Every call returns the decoded JSON (or ``None`` for 204) and raises a :class:`HubError`
subclass otherwise: :class:`HubUnreachable` when no answer came, and one class per HTTP error
family (400, 401, 403, 404, 409, 413, 429, 5xx) with the hub's ``title``, ``description`` and
``code`` from Falcon's JSON error body.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "Conflict",
    "Forbidden",
    "HubClient",
    "HubError",
    "HubUnreachable",
    "InvalidInput",
    "NotAuthenticated",
    "NotFound",
    "RateLimited",
    "ServerError",
    "TooLarge",
]


class HubError(Exception):
    """An error answer (or no answer) from the hub."""

    status: int = 0

    def __init__(
        self,
        description: str,
        *,
        title: str = "",
        code: str = "",
        status: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.title = title or type(self).__name__
        self.code = code
        if status is not None:
            self.status = status
        self.body = body or {}

    def __str__(self) -> str:
        return self.description or self.title


class HubUnreachable(HubError):
    """No HTTP answer: connection refused, DNS, timeout."""


class InvalidInput(HubError):
    status = 400


class NotAuthenticated(HubError):
    status = 401


class Forbidden(HubError):
    status = 403


class NotFound(HubError):
    status = 404


class Conflict(HubError):
    status = 409


class TooLarge(HubError):
    status = 413


class RateLimited(HubError):
    status = 429

    @property
    def retry_after(self) -> float:
        try:
            return float(self.body.get("retry_after", 0) or 0)
        except (TypeError, ValueError):
            return 0.0


class ServerError(HubError):
    status = 500


_BY_STATUS: dict[int, type[HubError]] = {
    400: InvalidInput,
    401: NotAuthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: TooLarge,
    429: RateLimited,
}


def error_for(response: httpx.Response) -> HubError:
    """The typed error for a non-2xx answer, carrying the hub's description."""
    body: dict[str, Any] = {}
    try:
        decoded = response.json()
        if isinstance(decoded, dict):
            body = decoded
    except ValueError:
        pass
    title = str(body.get("title") or response.reason_phrase or f"HTTP {response.status_code}")
    description = str(body.get("description") or title)
    if response.status_code == 429 and "Retry-After" in response.headers:
        body.setdefault("retry_after", response.headers["Retry-After"])
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else HubError
    return cls(
        description,
        title=title,
        code=str(body.get("code") or ""),
        status=response.status_code,
        body=body,
    )


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {k: v for k, v in params.items() if v is not None and v != ""}


class HubClient:
    """Async client of ``/api``; ``token`` is sent as a bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    # -- plumbing ---------------------------------------------------------------------------
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url, timeout=self.timeout, transport=self._transport
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        raw: bool = False,
    ) -> Any:
        """The answer's JSON (text when it is not JSON; the bytes with ``raw``)."""
        hdrs = dict(headers or {})
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        try:
            response = await self._http().request(
                method, path, json=json, params=_clean(params), content=content, headers=hdrs
            )
        except httpx.TransportError as exc:
            raise HubUnreachable(
                f"the hub at {self.base_url} is unreachable ({type(exc).__name__})",
                title="Hub unreachable",
                code="unreachable",
            ) from None
        if response.status_code >= 400:
            raise error_for(response)
        if raw:
            return response.content
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.request("POST", path, json=body)

    async def patch(self, path: str, body: Any) -> Any:
        return await self.request("PATCH", path, json=body)

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    # -- setup, license, session --------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        try:
            return await self.get("/api/health")
        except ServerError as exc:  # 503 = degraded, still an answer
            if exc.status == 503 and exc.body:
                return exc.body
            raise

    async def license(self) -> dict[str, Any]:
        return await self.get("/api/license")

    async def activate_license(self, text: str) -> dict[str, Any]:
        return await self.request(
            "POST", "/api/license", content=text, headers={"Content-Type": "text/plain"}
        )

    async def setup_admin(self, email: str, password: str, name: str) -> dict[str, Any]:
        return await self.post(
            "/api/setup/admin", {"email": email, "password": password, "name": name}
        )

    async def login(self, email: str, password: str) -> dict[str, Any]:
        result = await self.post("/api/auth/login", {"email": email, "password": password})
        self.token = result["token"]
        return result

    async def logout(self) -> None:
        try:
            await self.post("/api/auth/logout")
        finally:
            self.token = None

    async def me(self) -> dict[str, Any]:
        return await self.get("/api/auth/me")

    # -- users, audit -------------------------------------------------------------------------
    async def users(self, **filters: Any) -> dict[str, Any]:
        return await self.get("/api/users", limit=500, **filters)

    async def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.post("/api/users", body)

    async def update_user(self, user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return await self.patch(f"/api/users/{user_id}", changes)

    async def delete_user(self, user_id: int) -> None:
        await self.delete(f"/api/users/{user_id}")

    async def audit(self, **filters: Any) -> dict[str, Any]:
        return await self.get("/api/audit", **filters)

    # -- workflows ---------------------------------------------------------------------------
    async def workflows(self, **filters: Any) -> dict[str, Any]:
        return await self.get("/api/workflows", limit=500, **filters)

    async def workflow(self, workflow_id: int) -> dict[str, Any]:
        return await self.get(f"/api/workflows/{workflow_id}")

    async def create_workflow(
        self, name: str, description: str = "", graph: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "description": description}
        if graph is not None:
            body["graph"] = graph
        return await self.post("/api/workflows", body)

    async def update_workflow(self, workflow_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return await self.patch(f"/api/workflows/{workflow_id}", changes)

    async def delete_workflow(self, workflow_id: int) -> None:
        await self.delete(f"/api/workflows/{workflow_id}")

    async def versions(self, workflow_id: int) -> list[dict[str, Any]]:
        result = await self.get(f"/api/workflows/{workflow_id}/versions", limit=500)
        return result["items"] if isinstance(result, dict) else result

    async def version(self, workflow_id: int, number: int) -> dict[str, Any]:
        return await self.get(f"/api/workflows/{workflow_id}/versions/{number}")

    async def save_version(self, workflow_id: int, graph: dict[str, Any]) -> dict[str, Any]:
        return await self.post(f"/api/workflows/{workflow_id}/versions", {"graph": graph})

    async def publish(self, workflow_id: int) -> dict[str, Any]:
        return await self.post(f"/api/workflows/{workflow_id}/publish")

    async def restore_version(self, workflow_id: int, number: int) -> dict[str, Any]:
        return await self.post(f"/api/workflows/{workflow_id}/versions/{number}/restore")

    async def diff_versions(self, workflow_id: int, number: int, other: int) -> dict[str, Any]:
        return await self.get(f"/api/workflows/{workflow_id}/versions/{number}/diff/{other}")

    async def export_workflow(self, workflow_id: int) -> dict[str, Any]:
        return await self.get(f"/api/workflows/{workflow_id}/export")

    async def import_workflow(self, document: dict[str, Any]) -> dict[str, Any]:
        return await self.post("/api/workflows/import", document)

    async def catalog(self) -> Any:
        return await self.get("/api/catalog")

    # -- executions --------------------------------------------------------------------------
    async def executions(self, **filters: Any) -> dict[str, Any]:
        return await self.get("/api/executions", **filters)

    async def execution(self, execution_id: int) -> dict[str, Any]:
        return await self.get(f"/api/executions/{execution_id}")

    async def execution_logs(self, execution_id: int, after: int | None = None) -> list[Any]:
        result = await self.get(f"/api/executions/{execution_id}/logs", after=after)
        return result["items"] if isinstance(result, dict) else result

    async def run(
        self,
        workflow_id: int,
        *,
        inputs: dict[str, Any] | None = None,
        runner_id: int | None = None,
        priority: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"workflow_id": workflow_id}
        if inputs:
            body["inputs"] = inputs
        if runner_id is not None:
            body["runner_id"] = runner_id
        if priority is not None:
            body["priority"] = priority
        return await self.post("/api/executions", body)

    async def stop_execution(self, execution_id: int) -> dict[str, Any]:
        return await self.post(f"/api/executions/{execution_id}/stop")

    async def download_artifact(self, execution_id: int, artifact_id: int) -> bytes:
        data = await self.request(
            "GET", f"/api/executions/{execution_id}/artifacts/{artifact_id}", raw=True
        )
        return bytes(data or b"")

    async def apply_repairs(self, execution_id: int) -> dict[str, Any]:
        """A new draft of the workflow with the execution's selector repairs (DEVELOPER)."""
        return await self.post(f"/api/executions/{execution_id}/repairs/apply")

    # -- runners ----------------------------------------------------------------------------
    async def runners(self) -> dict[str, Any]:
        return await self.get("/api/runners", limit=500)

    async def create_runner(self, name: str, labels: list[str] | None = None) -> dict[str, Any]:
        return await self.post("/api/runners", {"name": name, "labels": labels or []})

    async def update_runner(self, runner_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return await self.patch(f"/api/runners/{runner_id}", changes)

    async def delete_runner(self, runner_id: int) -> None:
        await self.delete(f"/api/runners/{runner_id}")

    async def regenerate_secret(self, runner_id: int) -> dict[str, Any]:
        return await self.post(f"/api/runners/{runner_id}/regenerate-secret")

    # -- triggers ---------------------------------------------------------------------------
    async def cron_preview(self, cron: str, timezone: str = "UTC", count: int = 5) -> Any:
        return await self.get("/api/triggers/preview", cron=cron, timezone=timezone, count=count)

    async def triggers(self, **filters: Any) -> dict[str, Any]:
        return await self.get("/api/triggers", limit=500, **filters)

    async def create_trigger(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.post("/api/triggers", body)

    async def update_trigger(self, trigger_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return await self.patch(f"/api/triggers/{trigger_id}", changes)

    async def delete_trigger(self, trigger_id: int) -> None:
        await self.delete(f"/api/triggers/{trigger_id}")

    # -- credentials ------------------------------------------------------------------------
    async def credentials(self) -> dict[str, Any]:
        return await self.get("/api/credentials", limit=500)

    async def create_credential(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.post("/api/credentials", body)

    async def update_credential(self, cred_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return await self.patch(f"/api/credentials/{cred_id}", changes)

    async def delete_credential(self, cred_id: int) -> None:
        await self.delete(f"/api/credentials/{cred_id}")

    # -- analytics --------------------------------------------------------------------------
    async def summary(self) -> dict[str, Any]:
        return await self.get("/api/analytics/summary")

    async def performance(self, workflow_id: int | None = None) -> Any:
        return await self.get("/api/analytics/process-performance", workflow_id=workflow_id)
