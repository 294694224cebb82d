"""``/api/workflows``: workflows, their versions, publishing, rollback, diff, export/import.

Read: OPERATOR. Write: DEVELOPER. The rules live in :mod:`hub.services.workflows`; these
responders only translate HTTP to service calls.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import falcon
import msgspec

from .. import errors
from ..api import Routes, decode_body, endpoint, page, send
from ..services.workflows import (
    WorkflowService,
    author_emails,
    check_graph,
    export_text,
    to_dict,
    version_to_dict,
)
from .common import Page

if TYPE_CHECKING:
    from ..app import Hub

Number = Annotated[int, msgspec.Meta(ge=1)]


# --------------------------------------------------------------------------- wire types


class WorkflowOut(msgspec.Struct):
    id: int
    name: str
    description: str
    latest_version: int | None
    published_version: int | None
    has_draft: bool
    archived: bool
    created_by: int | None
    created_at: str
    updated_at: str
    #: names a graph without an ``inputs`` declaration still accepts (learned from the
    #: workflow's history by the upgrade; null for workflows created since)
    legacy_inputs: list[str] | None = None


class InputOut(msgspec.Struct):
    """One input that may be set from outside (``default`` only when the graph gives one)."""

    name: str
    type: str
    required: bool
    description: str
    #: accepted only because the workflow passed it before inputs were declared
    legacy: bool
    default: Any = None


class WorkflowList(msgspec.Struct):
    items: list[WorkflowOut]
    total: int


class VersionOut(msgspec.Struct):
    workflow_id: int
    number: int
    #: draft (never published) · published (the one that runs) · retired (superseded)
    status: str
    published: bool
    latest: bool
    comment: str
    created_by: int | None
    created_at: str
    published_at: str | None
    published_by: int | None
    graph: dict[str, Any] | None = None
    #: the author's email (null when the user was deleted)
    created_by_email: str | None = None
    #: the inputs this version accepts from outside (executions, triggers, webhooks)
    inputs: list[InputOut] = []
    #: false for a legacy graph without an ``inputs`` declaration (``inputs`` are learned)
    inputs_declared: bool = True


class VersionList(msgspec.Struct):
    items: list[VersionOut]
    total: int


class WorkflowQuery(Page, forbid_unknown_fields=True):
    q: str | None = None
    archived: bool = False
    published: bool | None = None


class WorkflowCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str = ""
    graph: Any = None
    comment: str = ""


class WorkflowPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    archived: bool | msgspec.UnsetType = msgspec.UNSET


class VersionCreate(msgspec.Struct, forbid_unknown_fields=True):
    graph: Any
    comment: str = ""


class VersionPatch(msgspec.Struct, forbid_unknown_fields=True):
    comment: str


class PublishBody(msgspec.Struct, forbid_unknown_fields=True):
    version: Number | None = None


class DiffOut(msgspec.Struct, rename={"from_": "from"}):
    workflow_id: int
    from_: int
    to: int
    identical: bool
    diff: dict[str, Any]
    lines: list[str]


class ExportQuery(msgspec.Struct, forbid_unknown_fields=True):
    version: Number | None = None


class ExportDocument(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    graph: Any
    description: str | None = None
    exported_from_version: int | None = None


class ImportOut(msgspec.Struct):
    workflow: WorkflowOut
    version: VersionOut
    created: bool


class ValidateBody(msgspec.Struct, forbid_unknown_fields=True):
    graph: Any


class ValidateOut(msgspec.Struct):
    valid: bool
    problems: list[dict[str, Any]]
    graph: dict[str, Any] | None


# --------------------------------------------------------------------------- responders


class Collection:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint(
        "List workflows",
        query=WorkflowQuery,
        response=WorkflowList,
        description="By name. `q` searches name and description; archived workflows are "
        "left out unless `archived=true`; `published=true/false` filters on having a "
        "published version.",
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q: WorkflowQuery = req.context.query
        limit, offset = page(req)
        rows, total = self.svc.find(
            q=q.q, archived=q.archived, published=q.published, limit=limit, offset=offset
        )
        send(resp, {"items": [to_dict(w) for w in rows], "total": total})

    @endpoint(
        "Create a workflow",
        role="DEVELOPER",
        body=WorkflowCreate,
        response=WorkflowOut,
        status=201,
        description="With `graph`, version 1 is saved as a draft (the graph is validated: "
        "400 `invalid_graph` lists every problem). 409 `name_taken` if the name exists.",
        responses={409: "A workflow with this name exists"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: WorkflowCreate = req.context.body
        wf, _ = self.svc.create(
            req.context.user,
            name=body.name,
            description=body.description,
            graph=body.graph,
            comment=body.comment,
            ip=req.context.ip,
        )
        send(resp, to_dict(wf), 201)


class Item:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint("Read a workflow", response=WorkflowOut)
    def on_get(self, req: falcon.Request, resp: falcon.Response, workflow_id: int) -> None:
        send(resp, to_dict(self.svc.get(workflow_id)))

    @endpoint(
        "Change a workflow",
        role="DEVELOPER",
        body=WorkflowPatch,
        response=WorkflowOut,
        description="Rename, change the description, archive (`archived: true`, its "
        "triggers are disabled) or bring back from the archive (`archived: false`).",
        responses={409: "The name is taken, or the workflow is archived"},
    )
    def on_patch(self, req: falcon.Request, resp: falcon.Response, workflow_id: int) -> None:
        changes = {
            k: v
            for k, v in msgspec.structs.asdict(req.context.body).items()
            if v is not msgspec.UNSET
        }
        wf = self.svc.update(req.context.user, workflow_id, changes, ip=req.context.ip)
        send(resp, to_dict(wf))

    @endpoint(
        "Delete a workflow",
        role="DEVELOPER",
        status=204,
        responses={200: "The workflow has executions: archived instead (the workflow)"},
        description="Without executions the workflow and all its versions are removed (204). "
        "With executions it is archived instead so their history stays: 200 with the "
        "workflow (`archived: true`), hidden from lists, cannot be run.",
    )
    def on_delete(self, req: falcon.Request, resp: falcon.Response, workflow_id: int) -> None:
        archived = self.svc.delete(req.context.user, workflow_id, ip=req.context.ip)
        if archived is None:
            resp.status = 204
        else:
            send(resp, to_dict(archived))


class Versions:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint(
        "List a workflow's versions",
        query=Page,
        response=VersionList,
        description="All versions, newest first, without their graphs.",
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, workflow_id: int) -> None:
        limit, offset = page(req)
        wf, rows, total = self.svc.versions(workflow_id, limit=limit, offset=offset)
        emails = author_emails([v.created_by for v in rows])
        items = [version_to_dict(wf, v, graph=False, emails=emails) for v in rows]
        send(resp, {"items": items, "total": total})

    @endpoint(
        "Save a new version",
        role="DEVELOPER",
        body=VersionCreate,
        response=VersionOut,
        status=201,
        description="The graph becomes a draft with the next version number (stored in its "
        "canonical form). 400 `invalid_graph` with `problems` if it does not validate; 409 "
        "`archived` for an archived workflow.",
        responses={409: "The workflow is archived"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, workflow_id: int) -> None:
        body: VersionCreate = req.context.body
        wf, v = self.svc.save_version(
            req.context.user, workflow_id, body.graph, comment=body.comment, ip=req.context.ip
        )
        send(resp, version_to_dict(wf, v), 201)


class Version:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint("Read a version with its graph", response=VersionOut)
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, workflow_id: int, number: int
    ) -> None:
        wf, v = self.svc.version(workflow_id, number)
        send(resp, version_to_dict(wf, v))

    @endpoint(
        "Change a draft's comment",
        role="DEVELOPER",
        body=VersionPatch,
        response=VersionOut,
        description="Only the latest draft: a version that was ever published is immutable "
        "(409 `immutable`), an older draft 409 `not_latest`. The graph never changes; save "
        "a new version instead.",
        responses={409: "The version was published (immutable) or is not the latest draft"},
    )
    def on_patch(
        self, req: falcon.Request, resp: falcon.Response, workflow_id: int, number: int
    ) -> None:
        body: VersionPatch = req.context.body
        wf, v = self.svc.update_version(req.context.user, workflow_id, number, comment=body.comment)
        send(resp, version_to_dict(wf, v))


class Restore:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint(
        "Restore an old version as a new draft",
        role="DEVELOPER",
        response=VersionOut,
        status=201,
        description="Rollback: the old version's graph is saved as a new draft (validated "
        "again); publish it to make it the running version.",
        responses={409: "The workflow is archived"},
    )
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, workflow_id: int, number: int
    ) -> None:
        wf, v = self.svc.restore(req.context.user, workflow_id, number, ip=req.context.ip)
        send(resp, version_to_dict(wf, v), 201)


class Diff:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint(
        "What changed between two versions",
        response=DiffOut,
        description="`diff`: added / removed / changed nodes (fields and params), edges and "
        "variables from version `number` to version `other`; `lines`: the same for people.",
    )
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, workflow_id: int, number: int, other: int
    ) -> None:
        send(resp, self.svc.diff(workflow_id, number, other))


class Publish:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint(
        "Publish the latest version",
        role="DEVELOPER",
        response=VersionOut,
        raw_body=True,
        description="Publishes the latest version if it is a draft; 409 otherwise "
        "(`already_published`, `no_versions`, `archived`, or `not_latest` when the optional "
        'body `{"version": N}` names another version). The earlier published version stays, '
        "retired and immutable. Of two concurrent publishes exactly one wins.",
        responses={409: "Already published, no versions, archived, or not the latest"},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, workflow_id: int) -> None:
        body: PublishBody | None = decode_body(req, PublishBody, required=False)
        version = body.version if body is not None else None
        wf, v = self.svc.publish(req.context.user, workflow_id, version=version, ip=req.context.ip)
        send(resp, version_to_dict(wf, v))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Export:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint(
        "Export a workflow",
        query=ExportQuery,
        response=ExportDocument,
        description="The portable document `{name, description, graph, "
        "exported_from_version}` in canonical form (sorted keys, two-space indent): of "
        "`version` if given, else the published version, else the latest. Another hub "
        "accepts it at POST /api/workflows/import.",
        responses={409: "The workflow has no version to export yet"},
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, workflow_id: int) -> None:
        q: ExportQuery = req.context.query
        doc = self.svc.export(workflow_id, q.version)
        filename = (_UNSAFE.sub("-", doc["name"]).strip("-.") or "workflow") + ".exekra.json"
        resp.status = 200
        resp.content_type = falcon.MEDIA_JSON
        resp.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        resp.data = export_text(doc).encode()


class Import:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint(
        "Import an exported workflow",
        role="DEVELOPER",
        body=ExportDocument,
        response=ImportOut,
        status=201,
        responses={
            200: "A workflow with that name exists: the graph became its new draft",
            409: "That workflow is archived",
        },
        description="A new workflow (201, version 1 as a draft), or — when a workflow with the "
        "same name exists — a new draft of it (200). The graph is validated.",
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: ExportDocument = req.context.body
        wf, v, created = self.svc.import_(
            req.context.user,
            name=body.name,
            graph=body.graph,
            description=body.description,
            exported_from_version=body.exported_from_version,
            ip=req.context.ip,
        )
        payload = {"workflow": to_dict(wf), "version": version_to_dict(wf, v), "created": created}
        send(resp, payload, 201 if created else 200)


class Validate:
    def __init__(self, svc: WorkflowService) -> None:
        self.svc = svc

    @endpoint(
        "Validate a graph without saving it",
        role="DEVELOPER",
        body=ValidateBody,
        response=ValidateOut,
        description="200 with `valid`, every `problem` (code, message, node_id, edge, param, "
        "path) and, when valid, the canonical graph.",
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: ValidateBody = req.context.body
        try:
            graph = check_graph(body.graph)
        except errors.InvalidGraphError as exc:
            send(resp, {"valid": False, "problems": exc.extra["problems"], "graph": None})
            return
        send(resp, {"valid": True, "problems": [], "graph": graph})


def register(routes: Routes, hub: Hub) -> None:
    svc = hub.workflows
    base = "/api/workflows/{workflow_id:int}"
    routes.add("/api/workflows", Collection(svc))
    routes.add("/api/workflows/import", Import(svc))
    routes.add("/api/workflows/validate", Validate(svc))
    routes.add(base, Item(svc))
    routes.add(base + "/versions", Versions(svc))
    routes.add(base + "/versions/{number:int}", Version(svc))
    routes.add(base + "/versions/{number:int}/restore", Restore(svc))
    routes.add(base + "/versions/{number:int}/diff/{other:int}", Diff(svc))
    routes.add(base + "/publish", Publish(svc))
    routes.add(base + "/export", Export(svc))
