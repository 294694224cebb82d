"""``/api/runners``: register runners, read their state, change labels, rotate secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon
import msgspec

from ..api import Routes, endpoint, page, send
from ..services.runners import RunnerService, to_dict
from .common import Page

if TYPE_CHECKING:
    from ..app import Hub


class RunnerCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    labels: list[str] = []


class RunnerPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    labels: list[str] | msgspec.UnsetType = msgspec.UNSET


class RunnerMetrics(msgspec.Struct):
    cpu: float | None
    memory: float | None
    disk: float | None


class RunnerOut(msgspec.Struct):
    id: int
    name: str
    status: str
    labels: list[str]
    last_seen: str | None
    metrics: RunnerMetrics
    metrics_history: list[list[Any]]
    current_execution_id: int | None
    machine_key: str
    hostname: str | None
    version: str | None
    created_at: str | None


class RunnerCreated(RunnerOut):
    machine_secret: str


class RunnerList(msgspec.Struct):
    items: list[RunnerOut]
    total: int


class RunnerQuery(Page, forbid_unknown_fields=True):
    status: str | None = None
    label: str | None = None


class Collection:
    def __init__(self, runners: RunnerService) -> None:
        self.runners = runners

    @endpoint("List runners", query=RunnerQuery, response=RunnerList)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q: RunnerQuery = req.context.query
        limit, offset = page(req)
        rows, total = self.runners.list(status=q.status, label=q.label, limit=limit, offset=offset)
        send(resp, {"items": [to_dict(r) for r in rows], "total": total})

    @endpoint(
        "Register a runner",
        role="ADMIN",
        body=RunnerCreate,
        response=RunnerCreated,
        status=201,
        description="Answers the Machine Key and the Machine Secret; the secret is shown this "
        "once. 403 past the license's runner limit.",
        responses={409: "A runner with this name exists"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: RunnerCreate = req.context.body
        runner, secret = self.runners.create(
            name=body.name, labels=body.labels, actor=req.context.user, ip=req.context.ip
        )
        send(resp, {**to_dict(runner), "machine_secret": secret}, 201)


class Item:
    def __init__(self, runners: RunnerService) -> None:
        self.runners = runners

    @endpoint("Read a runner", response=RunnerOut)
    def on_get(self, req: falcon.Request, resp: falcon.Response, runner_id: int) -> None:
        send(resp, to_dict(self.runners.get(runner_id)))

    @endpoint(
        "Change a runner's name or labels",
        role="ADMIN",
        body=RunnerPatch,
        response=RunnerOut,
        responses={409: "A runner with this name exists"},
    )
    def on_patch(self, req: falcon.Request, resp: falcon.Response, runner_id: int) -> None:
        changes = msgspec.structs.asdict(req.context.body)
        changes = {k: v for k, v in changes.items() if v is not msgspec.UNSET}
        runner = self.runners.update(runner_id, changes, req.context.user, req.context.ip)
        send(resp, to_dict(runner))

    @endpoint(
        "Delete a runner",
        role="ADMIN",
        status=204,
        responses={409: "The runner holds a live execution"},
    )
    def on_delete(self, req: falcon.Request, resp: falcon.Response, runner_id: int) -> None:
        self.runners.delete(runner_id, req.context.user, req.context.ip)
        resp.status = 204


class RegenerateSecret:
    def __init__(self, runners: RunnerService) -> None:
        self.runners = runners

    @endpoint(
        "Regenerate a runner's Machine Secret",
        role="ADMIN",
        response=RunnerCreated,
        description="The old secret and every token issued with it stop working at once.",
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, runner_id: int) -> None:
        runner, secret = self.runners.regenerate_secret(runner_id, req.context.user, req.context.ip)
        send(resp, {**to_dict(runner), "machine_secret": secret})


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/runners", Collection(hub.runners))
    routes.add("/api/runners/{runner_id:int}", Item(hub.runners))
    routes.add("/api/runners/{runner_id:int}/regenerate-secret", RegenerateSecret(hub.runners))
