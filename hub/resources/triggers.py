"""``/api/triggers``: schedules, webhooks and manual triggers (read OPERATOR, write DEVELOPER).

``POST /api/triggers/webhook/{trigger_id}`` is public (the id is a random token, and an
optional HMAC secret makes a signature mandatory); it is exempt from the per-client rate limit
(declared on its ``@endpoint``: ``rate_limited=False``) but not from the body-size limit.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import falcon
import msgspec

from .. import errors
from ..api import Routes, decode_body, endpoint, page, read_body, send
from ..config import Settings
from ..models import parse_iso
from ..ratelimit import RateLimiter
from ..services.scheduler import MAX_PREVIEW
from ..services.triggers import SIGNATURE_HEADER, TriggerService
from .common import Page

if TYPE_CHECKING:
    from ..app import Hub


class TriggerCreate(msgspec.Struct, forbid_unknown_fields=True):
    workflow_id: int
    type: str
    name: str = ""
    cron: str | None = None
    timezone: str | None = None
    enabled: bool = True
    inputs: dict[str, Any] | None = None
    priority: int = 0
    misfire: str = "once"
    #: WEBHOOK only: HMAC-SHA256 key; requests must then carry X-Exekra-Signature
    webhook_secret: str | None = None


class TriggerPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    cron: str | msgspec.UnsetType = msgspec.UNSET
    timezone: str | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    inputs: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    priority: int | msgspec.UnsetType = msgspec.UNSET
    misfire: str | msgspec.UnsetType = msgspec.UNSET
    #: null removes the secret (the webhook then accepts unsigned calls)
    webhook_secret: str | None | msgspec.UnsetType = msgspec.UNSET


class TriggerOut(msgspec.Struct):
    id: int
    workflow_id: int
    name: str
    type: str
    enabled: bool
    inputs: dict[str, Any]
    priority: int
    cron: str | None
    timezone: str
    misfire: str
    next_run: str | None
    last_run: str | None
    #: why the last scheduled fire started nothing (e.g. the workflow is not published)
    last_error: str | None
    last_error_at: str | None
    webhook_id: str | None
    url: str | None
    signed: bool
    created_by: int | None
    created_at: str | None
    updated_at: str | None


class TriggerList(msgspec.Struct):
    items: list[TriggerOut]
    total: int


class TriggerQuery(Page, forbid_unknown_fields=True):
    workflow_id: int | None = None
    type: str | None = None
    enabled: bool | None = None


Count = Annotated[int, msgspec.Meta(ge=1, le=MAX_PREVIEW)]


class PreviewQuery(msgspec.Struct, forbid_unknown_fields=True):
    count: Count = 5
    #: ISO 8601 instant to start from (default: now)
    after: str | None = None


class CronPreviewQuery(msgspec.Struct, forbid_unknown_fields=True):
    cron: str
    timezone: str = "UTC"
    count: Count = 5
    after: str | None = None


class FireTime(msgspec.Struct):
    at: str
    local: str


class PreviewOut(msgspec.Struct):
    cron: str
    timezone: str
    items: list[FireTime]


class RunBody(msgspec.Struct, forbid_unknown_fields=True):
    inputs: dict[str, Any] | None = None


class Started(msgspec.Struct):
    execution_id: int
    duplicate: bool = False


def _base_url(req: falcon.Request) -> str:
    return req.forwarded_prefix if req.context.ip != req.remote_addr else req.prefix


def _after(value: str | None) -> dt.datetime | None:
    return parse_iso(value, "after") if value is not None else None


class Collection:
    def __init__(self, triggers: TriggerService) -> None:
        self.triggers = triggers

    @endpoint("List triggers", query=TriggerQuery, response=TriggerList)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q: TriggerQuery = req.context.query
        svc = self.triggers
        limit, offset = page(req)
        items, total = svc.find(
            workflow_id=q.workflow_id, type=q.type, enabled=q.enabled, limit=limit, offset=offset
        )
        base = _base_url(req)
        send(resp, {"items": [svc.to_dict(t, base) for t in items], "total": total})

    @endpoint(
        "Create a trigger",
        role="DEVELOPER",
        body=TriggerCreate,
        response=TriggerOut,
        status=201,
        description="SCHEDULE needs `cron` (5 fields) and takes an IANA `timezone` (default "
        "UTC) and `misfire` (once|skip); WEBHOOK answers with its `url` and may take a "
        "`webhook_secret`; MANUAL stores inputs/priority to run later.",
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        fields = msgspec.structs.asdict(req.context.body)
        svc = self.triggers
        t = svc.create(req.context.user, fields, ip=req.context.ip)
        send(resp, svc.to_dict(t, _base_url(req)), 201)


class Item:
    def __init__(self, triggers: TriggerService) -> None:
        self.triggers = triggers

    @endpoint("Read a trigger", response=TriggerOut)
    def on_get(self, req: falcon.Request, resp: falcon.Response, trigger_id: int) -> None:
        svc = self.triggers
        send(resp, svc.to_dict(svc.get(trigger_id), _base_url(req)))

    @endpoint(
        "Change a trigger",
        role="DEVELOPER",
        body=TriggerPatch,
        response=TriggerOut,
        description="A changed cron or time zone takes effect at once (next_run is recomputed "
        "from now); disabling stops it at once. `webhook_secret: null` removes the secret.",
    )
    def on_patch(self, req: falcon.Request, resp: falcon.Response, trigger_id: int) -> None:
        changes = {
            k: v
            for k, v in msgspec.structs.asdict(req.context.body).items()
            if v is not msgspec.UNSET
        }
        svc = self.triggers
        t = svc.update(req.context.user, trigger_id, changes, ip=req.context.ip)
        send(resp, svc.to_dict(t, _base_url(req)))

    @endpoint("Delete a trigger", role="DEVELOPER", status=204)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, trigger_id: int) -> None:
        self.triggers.delete(req.context.user, trigger_id, ip=req.context.ip)
        resp.status = 204


class Preview:
    def __init__(self, triggers: TriggerService) -> None:
        self.triggers = triggers

    @endpoint("Next fire times of a schedule trigger", query=PreviewQuery, response=PreviewOut)
    def on_get(self, req: falcon.Request, resp: falcon.Response, trigger_id: int) -> None:
        q: PreviewQuery = req.context.query
        send(resp, self.triggers.preview(trigger_id, q.count, _after(q.after)))


class CronPreview:
    def __init__(self, triggers: TriggerService) -> None:
        self.triggers = triggers

    @endpoint(
        "Next fire times of an unsaved cron expression",
        query=CronPreviewQuery,
        response=PreviewOut,
        description="For live previews while typing: 400 says what is wrong with the cron "
        "expression or the time zone.",
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q: CronPreviewQuery = req.context.query
        send(
            resp,
            self.triggers.preview_cron(q.cron, q.timezone, q.count, _after(q.after)),
        )


class Run:
    def __init__(self, triggers: TriggerService) -> None:
        self.triggers = triggers

    @endpoint(
        "Run a trigger now",
        raw_body=True,
        response=Started,
        status=201,
        description='Body (optional): `{"inputs": {...}}`, merged over the trigger\'s inputs. '
        "The execution records who started it and from which trigger.",
        responses={
            200: "Duplicate of a queued execution (same trigger and inputs)",
            409: "The trigger is disabled or the workflow has no published version",
        },
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, trigger_id: int) -> None:
        body: RunBody | None = decode_body(req, RunBody, required=False)
        inputs = body.inputs if body is not None else None
        execution, duplicate = self.triggers.run(
            req.context.user, trigger_id, inputs, ip=req.context.ip
        )
        send(
            resp, {"execution_id": execution.id, "duplicate": duplicate}, 200 if duplicate else 201
        )


class Webhook:
    def __init__(self, triggers: TriggerService, limiter: RateLimiter, settings: Settings) -> None:
        self.triggers = triggers
        self.limiter = limiter
        self.settings = settings

    @endpoint(
        "Call a webhook trigger",
        auth="public",
        rate_limited=False,  # limited per trigger instead (webhook_rate_per_minute)
        raw_body=True,
        response=Started,
        status=202,
        description="The JSON object body becomes the execution's inputs (merged over the "
        f"trigger's). When the trigger has a secret, `{SIGNATURE_HEADER}: sha256=<hex>` "
        "(HMAC-SHA256 of the raw body) is required. An `Idempotency-Key` header makes retries "
        "safe. Not rate limited per client but per trigger (`webhook_rate_per_minute`, 429 "
        "with Retry-After past it); the body-size limit applies.",
        responses={
            401: "Signature missing or wrong",
            404: "Unknown webhook",
            413: "Body too large",
            429: "Too many calls of this webhook",
        },
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, trigger_id: str) -> None:
        # per trigger, whoever calls: a leaked URL cannot flood the queue (checked before
        # the body is read or the database is asked)
        limit = self.settings.webhook_rate_per_minute
        retry = self.limiter.hit("webhook:" + trigger_id[:100], limit=limit)
        if retry is not None:
            raise errors.RateLimited(
                retry, f"this webhook takes at most {limit} calls a minute; retry in {retry} s"
            )
        body = read_body(req, req.context.max_body_bytes)
        execution, duplicate = self.triggers.webhook(
            trigger_id,
            body,
            signature_header=req.get_header(SIGNATURE_HEADER),
            ip=req.context.ip,
            idempotency_key=req.get_header("Idempotency-Key"),
        )
        send(resp, {"execution_id": execution.id, "duplicate": duplicate}, 202)


def register(routes: Routes, hub: Hub) -> None:
    triggers = hub.triggers
    routes.add("/api/triggers", Collection(triggers))
    routes.add("/api/triggers/preview", CronPreview(triggers))
    routes.add(
        "/api/triggers/webhook/{trigger_id}",
        Webhook(triggers, hub.limiter, hub.settings),
    )
    routes.add("/api/triggers/{trigger_id:int}", Item(triggers))
    routes.add("/api/triggers/{trigger_id:int}/preview", Preview(triggers))
    routes.add("/api/triggers/{trigger_id:int}/run", Run(triggers))
