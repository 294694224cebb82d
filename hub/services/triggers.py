"""Triggers: what starts executions without a person clicking Run (spec "Trigger Engine").

Three types (API.md "Triggers"):

- ``SCHEDULE``: a 5-field cron expression in an IANA time zone; ``next_run`` is kept in the
  database and advanced by :class:`hub.services.scheduler.Scheduler`, which fires each instant
  once even with several hub processes;
- ``WEBHOOK``: ``POST /api/triggers/webhook/{id}`` with a random, unguessable id; the JSON
  object body becomes the inputs; an optional HMAC-SHA256 secret (stored AES-GCM sealed) makes
  the signature header ``X-Exekra-Signature: sha256=<hex>`` mandatory;
- ``MANUAL``: a saved set of inputs/priority anyone with OPERATOR can start
  (``POST /api/triggers/{id}/run``); every type can be started that way.

Every execution records which trigger started it (``trigger_id`` and the ``trigger`` JSON
``{type, trigger_id, name, ...}``). There is no automatic retry at trigger level (spec). Every
change is audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

import msgspec
import peewee as pw

from workflows.statuses import TriggerType

from .. import errors
from ..crypto import Sealer, TamperedData
from ..db import database_proxy
from ..models import Trigger, User, Workflow, iso, utcnow
from . import audit
from .executions import ExecutionService, check_declared_inputs
from .scheduler import MAX_PREVIEW, next_fire, parse_cron, parse_timezone, preview

TYPES = tuple(TriggerType)
MISFIRE_POLICIES = ("once", "skip")
NAME_MAX = 200
SECRET_MIN, SECRET_MAX = 16, 200
SIGNATURE_HEADER = "X-Exekra-Signature"
WEBHOOK_PATH = "/api/triggers/webhook/{}"
PRIORITY_RANGE = (-1000, 1000)
#: fields a PATCH may change (``type`` and ``workflow_id`` are fixed: make a new trigger)
MUTABLE = (
    "name",
    "cron",
    "timezone",
    "enabled",
    "inputs",
    "priority",
    "misfire",
    "webhook_secret",
)


def write_transaction() -> Any:
    """BEGIN IMMEDIATE on SQLite (no lock-upgrade failures), a plain transaction on PostgreSQL."""
    db = database_proxy.obj
    return db.atomic("IMMEDIATE") if isinstance(db, pw.SqliteDatabase) else db.atomic()


def new_webhook_id() -> str:
    """192 random bits, URL-safe: the id is the only thing a caller without a secret knows."""
    return secrets.token_urlsafe(24)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Exekra-Signature`` value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_inputs(value: Any, what: str = "inputs") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.ValidationFailed(f"{what} must be a JSON object", code="invalid_inputs")
    return value


def _check_priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.ValidationFailed("priority must be an integer")
    if not PRIORITY_RANGE[0] <= value <= PRIORITY_RANGE[1]:
        raise errors.ValidationFailed(
            f"priority must be between {PRIORITY_RANGE[0]} and {PRIORITY_RANGE[1]}"
        )
    return value


def _check_name(value: Any) -> str:
    name = str(value or "").strip()
    if len(name) > NAME_MAX:
        raise errors.ValidationFailed(f"name is longer than {NAME_MAX} characters")
    return name


def _check_misfire(value: Any) -> str:
    if value not in MISFIRE_POLICIES:
        raise errors.ValidationFailed(
            f"misfire must be one of {', '.join(MISFIRE_POLICIES)}", code="invalid_misfire"
        )
    return str(value)


def _check_secret(value: Any) -> str:
    if not isinstance(value, str) or not SECRET_MIN <= len(value) <= SECRET_MAX:
        raise errors.ValidationFailed(
            f"webhook_secret must be {SECRET_MIN}-{SECRET_MAX} characters "
            "(e.g. the output of `openssl rand -hex 32`)",
            code="invalid_secret",
        )
    return value


def _workflow_id(t: Trigger) -> int:
    return int(t.workflow_id)  # type: ignore[attr-defined]


class TriggerService:
    """Every state change of triggers, plus starting executions from them."""

    def __init__(
        self,
        sealer: Sealer,
        executions: ExecutionService,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sealer = sealer
        self.executions = executions
        self.clock = clock

    def _check_declared(self, workflow: Workflow, inputs: dict[str, Any]) -> dict[str, Any]:
        """A trigger's saved inputs must be inputs its workflow declares (checked against the
        version it would run: the published one, else the latest); required ones may come
        with each run, so they are not demanded here."""
        number = workflow.published_version or workflow.latest_version
        graph = self.executions.graph(workflow.id, number) if number else {}
        check_declared_inputs(workflow, graph, inputs, partial=True)
        return inputs

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self, t: Trigger, base_url: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": t.id,
            "workflow_id": _workflow_id(t),
            "name": t.name,
            "type": t.type,
            "enabled": t.enabled,
            "inputs": t.inputs or {},
            "priority": t.priority,
            "cron": t.cron,
            "timezone": t.timezone,
            "misfire": t.misfire,
            "next_run": iso(t.next_run) if t.enabled and t.type == TriggerType.SCHEDULE else None,
            "last_run": iso(t.last_run),
            "last_error": t.last_error,
            "last_error_at": iso(t.last_error_at),
            "webhook_id": None,
            "url": None,
            "signed": False,
            "created_by": t.created_by,
            "created_at": iso(t.created_at),
            "updated_at": iso(t.updated_at),
        }
        if t.type == TriggerType.WEBHOOK and t.webhook_id:
            out["webhook_id"] = t.webhook_id
            out["url"] = base_url.rstrip("/") + WEBHOOK_PATH.format(t.webhook_id)
            out["signed"] = bool(t.webhook_secret)
        return out

    # -- reading ----------------------------------------------------------------------------
    def get(self, trigger_id: int) -> Trigger:
        t = Trigger.get_or_none(Trigger.id == trigger_id)
        if t is None:
            raise errors.NotFound(f"trigger {trigger_id} does not exist")
        return t

    def find(
        self,
        *,
        workflow_id: int | None = None,
        type: str | None = None,
        enabled: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Trigger], int]:
        query = Trigger.select().order_by(Trigger.id)
        if workflow_id is not None:
            query = query.where(Trigger.workflow == workflow_id)
        if type is not None:
            if type.upper() not in TYPES:
                raise errors.ValidationFailed(f"type must be one of {', '.join(TYPES)}")
            query = query.where(Trigger.type == type.upper())
        if enabled is not None:
            query = query.where(Trigger.enabled == enabled)
        return list(query.limit(limit).offset(offset)), query.count()

    def preview(
        self, trigger_id: int, count: int, after: dt.datetime | None = None
    ) -> dict[str, Any]:
        t = self.get(trigger_id)
        if t.type != TriggerType.SCHEDULE:
            raise errors.ValidationFailed(
                f"trigger {trigger_id} is a {t.type} trigger; only schedules have fire times",
                code="not_a_schedule",
            )
        return self.preview_cron(str(t.cron), str(t.timezone), count, after)

    def preview_cron(
        self, cron: str, timezone: str, count: int, after: dt.datetime | None = None
    ) -> dict[str, Any]:
        """The next ``count`` fire times of an (unsaved) cron + time zone, for live previews."""
        expr = parse_cron(cron)
        parse_timezone(timezone)
        if not 1 <= count <= MAX_PREVIEW:
            raise errors.ValidationFailed(f"count must be between 1 and {MAX_PREVIEW}")
        start = after or self.clock()
        return {
            "cron": expr,
            "timezone": timezone,
            "items": preview(expr, timezone, start, count),
        }

    # -- changes ----------------------------------------------------------------------------
    def create(
        self, actor: User | None, fields: dict[str, Any], *, ip: str | None = None
    ) -> Trigger:
        ttype = str(fields.get("type") or "").upper()
        if ttype not in TYPES:
            raise errors.ValidationFailed(
                f"type must be one of {', '.join(TYPES)}", code="invalid_type"
            )
        workflow_id = fields.get("workflow_id")
        workflow = Workflow.get_or_none(Workflow.id == workflow_id)
        if workflow is None or workflow.archived:
            raise errors.ValidationFailed(
                f"workflow {workflow_id} does not exist", code="workflow_not_found"
            )
        row: dict[str, Any] = {
            "workflow": workflow.id,
            "type": ttype,
            "name": _check_name(fields.get("name")),
            "enabled": bool(fields.get("enabled", True)),
            "inputs": self._check_declared(workflow, _check_inputs(fields.get("inputs"))),
            "priority": _check_priority(fields.get("priority", 0)),
            "misfire": _check_misfire(fields.get("misfire") or "once"),
            "timezone": "UTC",
            "created_by": actor.id if actor else None,
        }
        self._type_rules(ttype, fields)
        if ttype == TriggerType.SCHEDULE:
            row["cron"] = parse_cron(fields["cron"])
            row["timezone"] = fields.get("timezone") or "UTC"
            parse_timezone(row["timezone"])
            if row["enabled"]:
                row["next_run"] = next_fire(row["cron"], row["timezone"], self.clock())
        if ttype == TriggerType.WEBHOOK:
            row["webhook_id"] = new_webhook_id()
            secret = fields.get("webhook_secret")
            if secret is not None:
                row["webhook_secret"] = self._seal(row["webhook_id"], _check_secret(secret))
        now = utcnow()
        row["created_at"] = row["updated_at"] = now
        with write_transaction():
            t = Trigger.create(**row)
            audit.record(
                actor, "trigger.create", f"trigger:{t.id}", ip=ip, details=self._audit_view(t)
            )
        return t

    @staticmethod
    def _type_rules(ttype: str, fields: dict[str, Any]) -> None:
        if ttype == TriggerType.SCHEDULE:
            if fields.get("cron") in (None, ""):
                raise errors.ValidationFailed(
                    "a SCHEDULE trigger needs a cron expression, e.g. '0 9 * * 1-5'",
                    code="invalid_cron",
                )
        else:
            for key in ("cron", "timezone"):
                if fields.get(key) is not None:
                    raise errors.ValidationFailed(
                        f"{key} only applies to SCHEDULE triggers", code="invalid_input"
                    )
        if ttype != TriggerType.WEBHOOK and fields.get("webhook_secret") is not None:
            raise errors.ValidationFailed(
                "webhook_secret only applies to WEBHOOK triggers", code="invalid_input"
            )

    def update(
        self, actor: User | None, trigger_id: int, changes: dict[str, Any], *, ip: str | None = None
    ) -> Trigger:
        for key in ("type", "workflow_id"):
            if key in changes:
                raise errors.ValidationFailed(
                    f"{key} cannot be changed; create a new trigger instead", code="immutable"
                )
        unknown = set(changes) - set(MUTABLE)
        if unknown:
            raise errors.ValidationFailed(f"unknown field {sorted(unknown)[0]!r}")
        with write_transaction():
            t = self.get(trigger_id)
            self._type_rules(t.type, {"cron": t.cron, **changes})
            row: dict[str, Any] = {}
            if "name" in changes:
                row["name"] = _check_name(changes["name"])
            if "inputs" in changes:
                row["inputs"] = self._check_declared(t.workflow, _check_inputs(changes["inputs"]))
            if "priority" in changes:
                row["priority"] = _check_priority(changes["priority"])
            if "misfire" in changes:
                row["misfire"] = _check_misfire(changes["misfire"])
            if "enabled" in changes:
                row["enabled"] = bool(changes["enabled"])
            if t.type == TriggerType.SCHEDULE:
                if changes.get("cron") is not None:
                    row["cron"] = parse_cron(changes["cron"])
                if changes.get("timezone") is not None:
                    parse_timezone(changes["timezone"])
                    row["timezone"] = changes["timezone"]
                enabled = row.get("enabled", t.enabled)
                cron, tz = row.get("cron", t.cron), row.get("timezone", t.timezone)
                schedule_changed = (cron, tz) != (t.cron, t.timezone)
                if not enabled:
                    row["next_run"] = None
                elif schedule_changed or not t.enabled or t.next_run is None:
                    # takes effect at once: the next instant from now on the new schedule
                    row["next_run"] = next_fire(str(cron), str(tz), self.clock())
            if t.type == TriggerType.WEBHOOK and "webhook_secret" in changes:
                secret = changes["webhook_secret"]
                row["webhook_secret"] = (
                    None if secret is None else self._seal(str(t.webhook_id), _check_secret(secret))
                )
            row["updated_at"] = utcnow()
            Trigger.update(row).where(Trigger.id == t.id).execute()
            shown = {k: v for k, v in changes.items() if k != "webhook_secret"}
            if "webhook_secret" in changes:
                shown["webhook_secret"] = "removed" if changes["webhook_secret"] is None else "set"
            audit.record(actor, "trigger.update", f"trigger:{t.id}", ip=ip, details=shown)
        return self.get(trigger_id)

    def delete(self, actor: User | None, trigger_id: int, *, ip: str | None = None) -> Trigger:
        with write_transaction():
            t = self.get(trigger_id)
            Trigger.delete().where(Trigger.id == t.id).execute()
            audit.record(
                actor, "trigger.delete", f"trigger:{t.id}", ip=ip, details=self._audit_view(t)
            )
        return t

    @staticmethod
    def _audit_view(t: Trigger) -> dict[str, Any]:
        view = {"workflow_id": _workflow_id(t), "type": t.type, "name": t.name}
        if t.type == TriggerType.SCHEDULE:
            view.update(cron=t.cron, timezone=t.timezone, misfire=t.misfire)
        view["enabled"] = t.enabled
        return view

    # -- webhook secrets --------------------------------------------------------------------
    def _seal(self, webhook_id: str, secret: str) -> str:
        return self.sealer.seal(secret, aad=b"webhook:" + webhook_id.encode())

    def _secret(self, t: Trigger) -> str | None:
        if not t.webhook_secret:
            return None
        aad = b"webhook:" + str(t.webhook_id).encode()
        try:
            return self.sealer.open(t.webhook_secret, aad=aad).decode()
        except TamperedData:
            raise errors.ServiceUnavailable(
                "this webhook's secret cannot be decrypted with this hub's key; set it again",
                code="secret_unreadable",
            ) from None

    # -- starting executions ----------------------------------------------------------------
    def _create_execution(self, t: Trigger, *, record: bool = True, **kw: Any) -> tuple[Any, bool]:
        """Start ``t``'s workflow; a new run is the trigger's ``last_run`` (``record=False``:
        the scheduler records it itself, with its error bookkeeping)."""
        result: tuple[Any, bool] = self.executions.create(
            workflow_id=_workflow_id(t), priority=t.priority, trigger_id=t.id, **kw
        )
        if record and not result[1]:
            Trigger.update(last_run=self.clock()).where(Trigger.id == t.id).execute()
        return result

    @staticmethod
    def _info(t: Trigger, **extra: Any) -> dict[str, Any]:
        return {"type": t.type, "trigger_id": t.id, "name": t.name, **extra}

    def fire_schedule(self, t: Trigger, scheduled_for: dt.datetime, info: dict[str, Any]) -> Any:
        """The scheduler's ``fire``: one execution for the instant ``scheduled_for``."""
        at = iso(scheduled_for)
        execution, _duplicate = self._create_execution(
            t,
            record=False,
            inputs=dict(t.inputs or {}),
            trigger=self._info(t, scheduled_for=at, **info),
            actor=None,
            idempotency_key=f"schedule:{t.id}:{at}",
        )
        return execution

    def run(
        self,
        actor: User,
        trigger_id: int,
        inputs: dict[str, Any] | None = None,
        *,
        ip: str | None = None,
    ) -> tuple[Any, bool]:
        """Start the trigger's workflow now (any trigger type); ``inputs`` override its own."""
        t = self.get(trigger_id)
        if not t.enabled:
            raise errors.Conflict(
                f"trigger {trigger_id} is disabled; enable it first", code="trigger_disabled"
            )
        merged = {**(t.inputs or {}), **_check_inputs(inputs)}
        result = self._create_execution(
            t,
            inputs=merged,
            trigger=self._info(t, by=actor.id, by_email=actor.email, manual=True),
            actor=actor,
        )
        audit.record(
            actor,
            "trigger.run",
            f"trigger:{t.id}",
            ip=ip,
            details={"execution_id": result[0].id, "duplicate": result[1]},
        )
        return result

    def webhook(
        self,
        webhook_id: str,
        body: bytes,
        *,
        signature_header: str | None,
        ip: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Any, bool]:
        """A webhook call: check the trigger, the signature and the body; start the workflow."""
        t = (
            Trigger.get_or_none(
                (Trigger.webhook_id == webhook_id) & (Trigger.type == TriggerType.WEBHOOK)
            )
            if webhook_id
            else None
        )
        if t is None:
            raise errors.NotFound("no such webhook", code="webhook_not_found")
        secret = self._secret(t)
        if secret is not None:
            if not signature_header:
                raise errors.Unauthorized(
                    f"this webhook requires an {SIGNATURE_HEADER} header: "
                    "sha256=<hex HMAC-SHA256 of the body with the webhook secret>",
                    code="signature_required",
                )
            expected = signature(secret, body)
            if not hmac.compare_digest(
                expected.encode(), signature_header.strip().lower().encode()
            ):
                raise errors.Unauthorized(
                    f"the {SIGNATURE_HEADER} does not match the body", code="bad_signature"
                )
        if not t.enabled:
            raise errors.BadRequest("this webhook trigger is disabled", code="trigger_disabled")
        inputs = self._parse_body(body)
        key = None
        if idempotency_key:
            if len(idempotency_key) > 150:
                raise errors.ValidationFailed("the Idempotency-Key must be 1-150 characters")
            key = f"webhook:{t.id}:{idempotency_key}"
        return self._create_execution(
            t,
            inputs={**(t.inputs or {}), **inputs},
            trigger=self._info(t, ip=ip, received_at=iso(self.clock())),
            actor=None,
            idempotency_key=key,
        )

    @staticmethod
    def _parse_body(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            # the same strict parser as every other body: a lone surrogate, invalid UTF-8 or
            # a non-finite number is refused here, never stored
            value = msgspec.json.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:  # nesting: 400
            raise errors.BadRequest(
                f"the body is not valid JSON: {exc}", code="malformed_json"
            ) from None
        if not isinstance(value, dict):
            raise errors.ValidationFailed(
                "the body must be a JSON object (it becomes the inputs), "
                f"not {type(value).__name__}",
                code="invalid_inputs",
            )
        return value
