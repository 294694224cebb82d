"""``/api/analytics``: dashboard summary and per-workflow process performance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import falcon
import msgspec

from ..api import Routes, endpoint, send
from ..services import analytics

if TYPE_CHECKING:
    from ..app import Hub


class SummaryQuery(msgspec.Struct, forbid_unknown_fields=True):
    hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 31)] = 24


class PerfQuery(msgspec.Struct, forbid_unknown_fields=True):
    workflow_id: int | None = None


class Summary:
    @endpoint(
        "Counts by status, runners by status, executions per hour",
        query=SummaryQuery,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, analytics.summary(hours=req.context.query.hours))


class Performance:
    @endpoint(
        "Per workflow: runs, success rate, duration p50/p95, cpu and memory avg/peak",
        query=PerfQuery,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, analytics.process_performance(req.context.query.workflow_id))


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/analytics/summary", Summary())
    routes.add("/api/analytics/process-performance", Performance())
