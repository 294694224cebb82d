"""Execution artifacts and selector repairs: runners upload them, users read and apply them.

Runner side (runner token; the same "held by this runner, current attempt, not finished" rule
as logs): ``POST /api/runner/executions/{id}/artifacts`` streams the raw bytes (limit
``artifact_max_bytes``, not ``max_body_bytes``), ``POST /api/runner/executions/{id}/repairs``.
User side (OPERATOR reads, DEVELOPER applies): list, download, and turn the repairs into a
new draft of the workflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import falcon
import msgspec

from ..api import Routes, endpoint, send
from ..services import audit
from ..services.artifacts import ArtifactService, served_type
from ..services.executions import ExecutionService
from ..services.workflows import version_to_dict
from .runner_api import runner_identity
from .workflows import VersionOut

if TYPE_CHECKING:
    from ..app import Hub

Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ArtifactQuery(msgspec.Struct, forbid_unknown_fields=True):
    attempt: int
    name: str
    kind: str = "file"
    node_id: str | None = None


class ArtifactOut(msgspec.Struct):
    id: int
    execution_id: int
    name: str
    kind: str
    content_type: str
    size: int
    node_id: str | None
    created_at: str


class ArtifactList(msgspec.Struct):
    items: list[ArtifactOut]


class RepairIn(msgspec.Struct, forbid_unknown_fields=True):
    attempt: int
    node_id: Text200
    new: dict[str, Any]
    score: Annotated[float, msgspec.Meta(ge=0, le=1)]
    param: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "target"
    old: Any = None


class RepairOut(msgspec.Struct):
    id: int
    execution_id: int
    node_id: str
    param: str
    old: Any
    new: dict[str, Any]
    score: float
    created_at: str


class AppliedRepair(msgspec.Struct):
    node_id: str
    param: str
    selector: str


class RepairApplyOut(VersionOut):
    based_on: int = 0
    applied: list[AppliedRepair] = []


class RunnerArtifacts:
    def __init__(self, artifacts: ArtifactService) -> None:
        self.artifacts = artifacts

    @endpoint(
        "Upload an execution artifact",
        auth="runner",
        query=ArtifactQuery,
        response=ArtifactOut,
        status=201,
        raw_body=True,
        body_content_type="application/octet-stream",
        description="The body is the artifact's bytes and `Content-Type` its type. `kind` is "
        "one of screenshot, html, trace, console, download, file; `name` a plain file name. "
        "413 `artifact_too_large` above the hub's `artifact_max_bytes` (default 25 MiB).",
        responses={403: "Not this runner's execution", 409: "Stale attempt or finished"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, execution_id: int) -> None:
        q: ArtifactQuery = req.context.query
        runner_id, ver = runner_identity(req)
        out = self.artifacts.upload(
            runner_id,
            execution_id,
            q.attempt,
            name=q.name,
            kind=q.kind,
            content_type=req.content_type,
            node_id=q.node_id,
            stream=req.bounded_stream,
            length=req.content_length,
            secret_version=ver,
        )
        send(resp, out, 201)


class RunnerRepairs:
    def __init__(self, artifacts: ArtifactService) -> None:
        self.artifacts = artifacts

    @endpoint(
        "Report a selector repair",
        auth="runner",
        body=RepairIn,
        response=RepairOut,
        status=201,
        description="A target found by its fingerprint after every selector broke: `old` the "
        "target as written, `new` the target object that matched (its `selector` the "
        "element's best selector), `score` how closely it resembled the fingerprint.",
        responses={403: "Not this runner's execution", 409: "Stale attempt or finished"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, execution_id: int) -> None:
        body: RepairIn = req.context.body
        runner_id, ver = runner_identity(req)
        out = self.artifacts.add_repair(
            runner_id,
            execution_id,
            body.attempt,
            node_id=body.node_id,
            param=body.param,
            old=body.old,
            new=body.new,
            score=body.score,
            secret_version=ver,
        )
        send(resp, out, 201)


class Artifacts:
    def __init__(self, artifacts: ArtifactService, executions: ExecutionService) -> None:
        self.artifacts = artifacts
        self.executions = executions

    @endpoint("List an execution's artifacts", response=ArtifactList)
    def on_get(self, req: falcon.Request, resp: falcon.Response, execution_id: int) -> None:
        self.executions.get(execution_id)
        send(resp, {"items": self.artifacts.list(execution_id)})


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact one in RFC 5987 form."""
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


class ArtifactFile:
    def __init__(self, artifacts: ArtifactService) -> None:
        self.artifacts = artifacts

    @endpoint(
        "Download an artifact",
        description="The bytes, always as an attachment with `nosniff` and a sandboxing CSP. "
        "Images and plain types keep their type (so the web view can show a screenshot); "
        "anything else — HTML snapshots of untrusted pages included — is sent as "
        "application/octet-stream.",
        responses={200: "The artifact's bytes"},
    )
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, execution_id: int, artifact_id: int
    ) -> None:
        row, path = self.artifacts.get(execution_id, artifact_id)
        resp.status = 200
        resp.content_type = served_type(row)
        resp.set_header("Content-Disposition", content_disposition(row.name))
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
        resp.set_header("Cache-Control", "private, no-store")
        resp.set_stream(open(path, "rb"), path.stat().st_size)  # noqa: SIM115 - falcon closes it


class ApplyRepairs:
    def __init__(self, artifacts: ArtifactService) -> None:
        self.artifacts = artifacts

    @endpoint(
        "Turn an execution's selector repairs into a new draft",
        role="DEVELOPER",
        response=RepairApplyOut,
        status=201,
        description="A new draft version of the execution's workflow, based on the version the "
        "execution ran, with each repaired node's param replaced by the repaired target (the "
        "old primary selector kept as its first fallback). 409 `no_repairs` when there are "
        "none (or none of their nodes is in that version).",
        responses={
            400: "The repaired graph does not validate",
            409: "No repairs, or the workflow is archived",
        },
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, execution_id: int) -> None:
        user = req.context.user
        out = self.artifacts.apply_repairs(user, execution_id, ip=req.context.ip)
        wf, version = out["workflow"], out["draft"]  # as saved: no second read
        audit.record(
            user,
            "workflow.apply_repairs",
            f"workflow:{wf.id}",
            ip=req.context.ip,
            details={
                "execution_id": execution_id,
                "version": version.number,
                "based_on": out["based_on"],
                "nodes": sorted({a["node_id"] for a in out["applied"]}),
            },
        )
        body = version_to_dict(wf, version)
        body.update(based_on=out["based_on"], applied=out["applied"])
        send(resp, body, 201)


def register(routes: Routes, hub: Hub) -> None:
    artifacts = hub.artifacts
    routes.add("/api/runner/executions/{execution_id:int}/artifacts", RunnerArtifacts(artifacts))
    routes.add("/api/runner/executions/{execution_id:int}/repairs", RunnerRepairs(artifacts))
    routes.add("/api/executions/{execution_id:int}/artifacts", Artifacts(artifacts, hub.executions))
    routes.add(
        "/api/executions/{execution_id:int}/artifacts/{artifact_id:int}", ArtifactFile(artifacts)
    )
    routes.add(
        "/api/executions/{execution_id:int}/repairs/apply",
        ApplyRepairs(artifacts),
    )
