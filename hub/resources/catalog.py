"""``/api/catalog``: the activity catalog, grouped by category (console toolbox, web view)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon
import msgspec

from workflows import catalog

from ..api import Routes, endpoint, send

if TYPE_CHECKING:
    from ..app import Hub


class ActivityParam(msgspec.Struct):
    name: str
    type: str
    required: bool
    default: Any
    description: str
    secret: bool
    choices: list[str]


class ActivityOut(msgspec.Struct):
    type: str
    category: str
    title: str
    description: str
    params: list[ActivityParam]
    ports: list[str]
    dynamic_ports: bool
    output: str | None


class CategoryOut(msgspec.Struct):
    name: str
    title: str
    activities: list[ActivityOut]


class CatalogOut(msgspec.Struct):
    categories: list[CategoryOut]
    total: int


def catalog_document() -> dict[str, Any]:
    """``workflows.catalog.document()`` (the one JSON form of the catalog) plus the count."""
    doc = catalog.document()
    doc["total"] = sum(len(c["activities"]) for c in doc["categories"])
    return doc


class Catalog:
    @endpoint(
        "The activity catalog",
        response=CatalogOut,
        description="Every activity type the hub validates against and the runner implements, "
        "grouped by category in toolbox order: params (name, type, required, default, "
        "secret, choices), ports and output.",
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, catalog_document())


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/catalog", Catalog())
