"""``/api/health`` and ``/api/openapi.json``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon
import msgspec
import peewee

from ..api import Routes, endpoint, openapi_document, send
from ..queue import DispatchQueue
from ..services.license import LicenseService

if TYPE_CHECKING:
    from ..app import Hub


class Health(msgspec.Struct):
    status: str
    database: str
    queue: str
    version: str
    license: str


class HealthResource:
    def __init__(
        self,
        database: peewee.Database,
        license: LicenseService,
        queue: DispatchQueue,
        version: str,
    ) -> None:
        self.database = database
        self.license = license
        self.queue = queue
        self.version = version

    # probes and load balancers ask often: never limited
    @endpoint("Liveness and dependencies", auth="public", response=Health, rate_limited=False)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            self.database.execute_sql("SELECT 1")
            database = "ok"
        except Exception:  # noqa: BLE001 - health reports, never raises
            req.context.db_broken = True
            database = "unavailable"
        queue = self.queue.state()
        lic = self.license.current().status if database == "ok" else "unknown"
        status = "ok" if database == "ok" else "degraded"
        send(
            resp,
            {
                "status": status,
                "database": database,
                "queue": queue,
                "version": self.version,
                "license": lic,
            },
            200 if status == "ok" else 503,
        )


class OpenAPIResource:
    def __init__(self, routes: Routes, version: str) -> None:
        self.routes = routes
        self.version = version
        self._doc: bytes | None = None

    @endpoint("This OpenAPI document", auth="public")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._doc is None:
            self._doc = msgspec.json.encode(openapi_document(self.routes, version=self.version))
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._doc


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/health", HealthResource(hub.database, hub.license, hub.queue, hub.version))
    routes.add("/api/openapi.json", OpenAPIResource(routes, hub.version))
