"""``/api/executions``: run a published workflow, follow it, read its logs, stop it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import falcon
import msgspec

from workflows.statuses import TriggerType

from ..api import Routes, endpoint, page, send
from ..services import audit
from ..services.artifacts import ArtifactService
from ..services.executions import ExecutionService
from .artifacts import ArtifactOut, RepairOut
from .common import Page

if TYPE_CHECKING:
    from ..app import Hub


class ExecutionCreate(msgspec.Struct, forbid_unknown_fields=True):
    workflow_id: int
    inputs: dict[str, Any] = {}
    priority: int = 0
    runner_id: int | None = None
    labels: list[str] = []


class ExecutionOut(msgspec.Struct):
    id: int
    workflow_id: int
    workflow_name: str | None
    version: int
    status: str
    runner_id: int | None
    trigger: dict[str, Any]
    priority: int
    inputs: dict[str, Any]
    error: str | None
    reason: str | None
    failed_node: str | None
    attempt: int
    queued_at: str | None
    started_at: str | None
    finished_at: str | None
    metrics: dict[str, Any] | None
    labels: list[str] = []
    target_runner_id: int | None = None
    trigger_id: int | None = None
    requeue_count: int = 0
    stop_requested: bool = False
    assigned_at: str | None = None
    duration_seconds: float | None = None
    pending_reason: dict[str, Any] | None = None
    duplicate: bool | None = None
    #: in the single-execution answer only
    artifacts: list[ArtifactOut] = []
    selector_repairs: list[RepairOut] = []


class ExecutionList(msgspec.Struct):
    items: list[ExecutionOut]
    total: int


class ExecutionQuery(Page, forbid_unknown_fields=True):
    status: str | None = None
    workflow_id: int | None = None
    runner_id: int | None = None
    trigger_id: int | None = None


class LogQuery(msgspec.Struct, forbid_unknown_fields=True):
    after: int = -1
    limit: Annotated[int, msgspec.Meta(ge=1, le=5000)] = 1000


class LogLineOut(msgspec.Struct):
    seq: int
    at: str | None
    level: str
    node_id: str | None
    message: str


class LogList(msgspec.Struct):
    items: list[LogLineOut]


class Collection:
    def __init__(self, executions: ExecutionService) -> None:
        self.executions = executions

    @endpoint("List executions, newest first", query=ExecutionQuery, response=ExecutionList)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q: ExecutionQuery = req.context.query
        limit, offset = page(req)
        rows, total = self.executions.list(
            status=q.status,
            workflow_id=q.workflow_id,
            runner_id=q.runner_id,
            trigger_id=q.trigger_id,
            limit=limit,
            offset=offset,
        )
        items = [self.executions.to_dict(r, pending=False) for r in rows]
        send(resp, {"items": items, "total": total})

    @endpoint(
        "Run the published version of a workflow",
        body=ExecutionCreate,
        response=ExecutionOut,
        status=201,
        description="201 with the QUEUED execution; a request identical to one still QUEUED "
        "(or repeating an `Idempotency-Key` header) answers that one with 200 and "
        '`"duplicate": true`. 409 `not_published` when no version is published; 403 when '
        "the license does not allow executions. `runner_id` makes it an interactive run on "
        "that runner only; `labels` restricts it to runners having all of them.",
        responses={
            200: "Duplicate of a queued execution",
            403: "License",
            404: "No such workflow or runner",
            409: "Not published",
        },
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: ExecutionCreate = req.context.body
        user = req.context.user
        execution, duplicate = self.executions.create(
            workflow_id=body.workflow_id,
            inputs=body.inputs,
            priority=body.priority,
            runner_id=body.runner_id,
            labels=body.labels,
            trigger={"type": TriggerType.MANUAL, "user_id": user.id, "user_email": user.email},
            actor=user,
            idempotency_key=req.get_header("Idempotency-Key"),
        )
        out = self.executions.to_dict(execution)
        out["duplicate"] = duplicate
        if not duplicate:
            audit.record(
                user,
                "execution.create",
                f"execution:{execution.id}",
                ip=req.context.ip,
                details={"workflow_id": body.workflow_id, "runner_id": body.runner_id},
            )
        send(resp, out, 200 if duplicate else 201)


class Item:
    def __init__(self, executions: ExecutionService, artifacts: ArtifactService) -> None:
        self.executions = executions
        self.artifacts = artifacts

    @endpoint(
        "Read an execution",
        response=ExecutionOut,
        description="A QUEUED execution includes `pending_reason`: what it is waiting for. "
        "`artifacts` lists what the runner uploaded (screenshots, page snapshots, files) and "
        "`selector_repairs` the targets it found by their fingerprint.",
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, execution_id: int) -> None:
        out = self.executions.to_dict(self.executions.get(execution_id))
        out["artifacts"] = self.artifacts.list(execution_id)
        out["selector_repairs"] = self.artifacts.repairs(execution_id)
        send(resp, out)


class Logs:
    def __init__(self, executions: ExecutionService) -> None:
        self.executions = executions

    @endpoint("Read an execution's logs", query=LogQuery, response=LogList)
    def on_get(self, req: falcon.Request, resp: falcon.Response, execution_id: int) -> None:
        q: LogQuery = req.context.query
        items = self.executions.logs(execution_id, after=q.after, limit=q.limit)
        send(resp, {"items": items})


class Stop:
    def __init__(self, executions: ExecutionService) -> None:
        self.executions = executions

    @endpoint(
        "Stop an execution",
        response=ExecutionOut,
        description="QUEUED → STOPPED at once; ASSIGNED/RUNNING → the runner is told in its "
        "next heartbeat, poll or log answer. 409 when it already finished.",
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, execution_id: int) -> None:
        execution = self.executions.stop(execution_id, req.context.user)
        audit.record(
            req.context.user, "execution.stop", f"execution:{execution_id}", ip=req.context.ip
        )
        send(resp, self.executions.to_dict(execution))


def register(routes: Routes, hub: Hub) -> None:
    routes.add("/api/executions", Collection(hub.executions))
    routes.add("/api/executions/{execution_id:int}", Item(hub.executions, hub.artifacts))
    routes.add("/api/executions/{execution_id:int}/logs", Logs(hub.executions))
    routes.add("/api/executions/{execution_id:int}/stop", Stop(hub.executions))
