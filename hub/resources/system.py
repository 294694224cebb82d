"""``/api/health`` and ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

import falcon
import msgspec

from ..api import Routes, endpoint, openapi_document, send


class Health(msgspec.Struct):
    status: str
    database: str
    queue: str
    version: str
    license: str


class HealthResource:
    def __init__(self, hub: Any) -> None:
        self.hub = hub

    # probes and load balancers ask often: never limited
    @endpoint("Liveness and dependencies", auth="public", response=Health, rate_limited=False)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            self.hub.database.execute_sql("SELECT 1")
            database = "ok"
        except Exception:  # noqa: BLE001 - health reports, never raises
            req.context.db_broken = True
            database = "unavailable"
        queue_state = self.hub.extra.get("queue_state")
        queue = queue_state() if queue_state else ("redis" if self.hub.redis else "memory")
        lic = self.hub.license.current().status if database == "ok" else "unknown"
        status = "ok" if database == "ok" else "degraded"
        send(
            resp,
            {
                "status": status,
                "database": database,
                "queue": queue,
                "version": self.hub.version,
                "license": lic,
            },
            200 if status == "ok" else 503,
        )


class OpenAPIResource:
    def __init__(self, hub: Any, routes: Routes) -> None:
        self.hub = hub
        self.routes = routes
        self._doc: bytes | None = None

    @endpoint("This OpenAPI document", auth="public")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._doc is None:
            self._doc = msgspec.json.encode(openapi_document(self.routes, version=self.hub.version))
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._doc


def register(routes: Routes, hub: Any) -> None:
    routes.add("/api/health", HealthResource(hub))
    routes.add("/api/openapi.json", OpenAPIResource(hub, routes))
