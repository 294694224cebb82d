"""Peewee models: the hub's data model (ARCHITECTURE.md "Data model").

Times are naive UTC datetimes in the database and ISO 8601 UTC strings on the wire. JSON columns
are text so the same schema runs on SQLite and PostgreSQL. The schema itself is created by the
numbered migrations in ``hub/migrations`` (which freeze their own model copies); these classes
are the current view of it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

import peewee as pw

from workflows.statuses import ExecutionStatus, RunnerStatus

from .db import database_proxy


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def parse_iso(value: str, what: str) -> dt.datetime:
    """An ISO 8601 time from a client as a naive UTC datetime; a clear 400 if it is not one."""
    from .errors import ValidationFailed

    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{what} {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def storable_json(value: Any) -> str:
    """``value`` as JSON text, refusing what would not survive the way back: a lone UTF-16
    surrogate (stored fine as ``\\ud800``, but every page, list and payload that includes it
    afterwards cannot be encoded as UTF-8) and NaN or infinity (not JSON). A 400 naming the
    cause, before anything is written."""
    from .errors import ValidationFailed

    try:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except ValueError:
        raise ValidationFailed("numbers must be finite (NaN and Infinity are not JSON)") from None
    if "\\ud" in text or "\\uD" in text:  # surrogate escapes: only valid pairs may pass
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationFailed(
                "text must be valid Unicode (it contains a lone UTF-16 surrogate)",
                code="invalid_text",
            ) from None
    return text


class JSONField(pw.TextField):
    """JSON stored as text (portable between SQLite and PostgreSQL); see ``storable_json``."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return storable_json(value)

    def python_value(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        return json.loads(value)


def new_binding() -> str:
    """A user's token binding: 128 random bits a later account never shares (migration 0006)."""
    return secrets.token_hex(16)


def first_secret_version() -> int:
    """A runner's first secret version: random (so a later runner never shares it, migration
    0006), with room for 2**30 regenerations below PostgreSQL's 32-bit INTEGER limit."""
    return 2**20 + secrets.randbelow(2**30 - 2**20)


class BaseModel(pw.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


ROLES = ("ADMIN", "DEVELOPER", "OPERATOR")
ROLE_RANK = {"OPERATOR": 1, "DEVELOPER": 2, "ADMIN": 3}


class User(BaseModel):
    id = pw.AutoField()
    email = pw.CharField(max_length=254, unique=True)
    name = pw.CharField(max_length=200)
    role = pw.CharField(max_length=16, default="OPERATOR")
    password_hash = pw.CharField(max_length=100)
    active = pw.BooleanField(default=True)
    #: bumped when the user is disabled, deleted or changes password: older tokens stop working
    token_version = pw.IntegerField(default=1)
    #: random per account, carried in its tokens (``bnd``): a token never passes for an account
    #: created later, whatever id that account gets
    token_binding = pw.CharField(max_length=64, null=True, default=new_binding)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    last_login_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "users"


class Workflow(BaseModel):
    id = pw.AutoField()
    name = pw.CharField(max_length=200, unique=True)
    description = pw.TextField(default="")
    latest_version = pw.IntegerField(default=0)
    published_version = pw.IntegerField(null=True)
    archived = pw.BooleanField(default=False)
    created_by = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    #: inputs accepted for graphs without an ``inputs`` declaration: the names learned from
    #: the workflow's history by migration 0008 (None: created later, so none)
    legacy_inputs = JSONField(null=True)

    class Meta:
        table_name = "workflows"


class WorkflowVersion(BaseModel):
    id = pw.AutoField()
    workflow = pw.ForeignKeyField(Workflow, backref="versions", on_delete="CASCADE")
    number = pw.IntegerField()
    graph = JSONField()
    comment = pw.TextField(default="")
    #: set once when the version is published; a version ever published is immutable
    published_at = pw.DateTimeField(null=True)
    published_by = pw.IntegerField(null=True)
    created_by = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "workflow_versions"
        indexes = ((("workflow", "number"), True),)


class Runner(BaseModel):
    id = pw.AutoField()
    name = pw.CharField(max_length=200, unique=True)
    machine_key = pw.CharField(max_length=64, unique=True)
    secret_hash = pw.CharField(max_length=100)
    #: bumped by regenerate-secret: tokens carry it, so old tokens stop working at once
    #: (it starts at a random number, so a later runner never shares it: migration 0006)
    secret_version = pw.IntegerField(default=first_secret_version)
    status = pw.CharField(
        max_length=16, default=RunnerStatus.OFFLINE
    )  # not indexed: migration 0005
    labels = JSONField(default=list)
    last_seen = pw.DateTimeField(null=True)  # not indexed: see migration 0002
    cpu = pw.FloatField(null=True)
    memory = pw.FloatField(null=True)
    disk = pw.FloatField(null=True)
    version = pw.CharField(max_length=64, null=True)
    hostname = pw.CharField(max_length=255, null=True)
    #: recent heartbeat samples [[iso, cpu, memory, disk], ...] for sparklines
    metrics_history = JSONField(default=list)
    current_execution_id = pw.IntegerField(null=True)
    #: the agent process that last authenticated (a new one settles its predecessor's work)
    session_id = pw.CharField(max_length=64, null=True)
    created_at = pw.DateTimeField(default=utcnow)
    created_by = pw.IntegerField(null=True)

    class Meta:
        table_name = "runners"


EXECUTION_STATUSES = tuple(ExecutionStatus)


class Execution(BaseModel):
    id = pw.AutoField()
    # indexes: see ``Meta`` and migration 0005 (partial and composite ones live there)
    workflow = pw.ForeignKeyField(Workflow, backref="executions", on_delete="RESTRICT", index=False)
    version = pw.IntegerField()
    status = pw.CharField(max_length=16, default=ExecutionStatus.QUEUED)
    runner = pw.ForeignKeyField(
        Runner, null=True, backref="executions", on_delete="SET NULL", index=False
    )
    #: interactive run: only this runner may take it
    target_runner_id = pw.IntegerField(null=True)
    required_labels = JSONField(default=list)
    priority = pw.IntegerField(default=0)
    trigger = JSONField(default=dict)
    trigger_id = pw.IntegerField(null=True)
    inputs = JSONField(default=dict)
    error = pw.TextField(null=True)
    reason = pw.CharField(max_length=32, null=True)
    failed_node = pw.CharField(max_length=200, null=True)
    attempt = pw.IntegerField(default=0)
    requeue_count = pw.IntegerField(default=0)
    stop_requested = pw.BooleanField(default=False)
    request_hash = pw.CharField(max_length=64, null=True)
    idempotency_key = pw.CharField(max_length=200, null=True)
    metrics = JSONField(null=True)
    created_by = pw.IntegerField(null=True)
    queued_at = pw.DateTimeField(default=utcnow)
    assigned_at = pw.DateTimeField(null=True)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    updated_at = pw.DateTimeField(default=utcnow)
    #: foreign-key ids peewee exposes (declared for the type checker)
    runner_id: int | None
    workflow_id: int

    class Meta:
        table_name = "executions"
        # plus partial indexes (migration 0005): the queue in claim order, request_hash of
        # QUEUED rows, idempotency_key (unique) and trigger_id where set
        indexes = (
            (("status", "priority", "queued_at"), False),
            (("runner", "status"), False),
            (("workflow", "status"), False),
        )


class ExecutionLog(BaseModel):
    id = pw.AutoField()
    execution = pw.ForeignKeyField(Execution, backref="logs", on_delete="CASCADE")
    seq = pw.IntegerField()
    at = pw.DateTimeField()
    level = pw.CharField(max_length=16, default="info")
    node_id = pw.CharField(max_length=200, null=True)
    message = pw.TextField()

    class Meta:
        table_name = "execution_logs"
        indexes = ((("execution", "seq"), True),)


class ExecutionArtifact(BaseModel):
    """Metadata of one execution artifact; the bytes are a file (hub/services/artifacts.py)."""

    id = pw.AutoField()
    execution = pw.ForeignKeyField(Execution, on_delete="CASCADE", index=False)
    name = pw.CharField(max_length=200)
    kind = pw.CharField(max_length=16)
    content_type = pw.CharField(max_length=100)
    size = pw.BigIntegerField()
    node_id = pw.CharField(max_length=200, null=True)
    attempt = pw.IntegerField()
    stored_as = pw.CharField(max_length=64)
    sha256 = pw.CharField(max_length=64)
    created_at = pw.DateTimeField(default=utcnow, index=True)
    execution_id: int

    class Meta:
        table_name = "execution_artifacts"
        indexes = ((("execution", "id"), False),)


class SelectorRepair(BaseModel):
    """A target a runner found by its fingerprint after every selector broke."""

    id = pw.AutoField()
    execution = pw.ForeignKeyField(Execution, on_delete="CASCADE", index=False)
    attempt = pw.IntegerField()
    node_id = pw.CharField(max_length=200)
    param = pw.CharField(max_length=100)
    old = JSONField(null=True)
    new = JSONField()
    score = pw.FloatField()
    created_at = pw.DateTimeField(default=utcnow)
    execution_id: int

    class Meta:
        table_name = "selector_repairs"
        indexes = ((("execution", "id"), False),)


class Trigger(BaseModel):
    id = pw.AutoField()
    workflow = pw.ForeignKeyField(Workflow, backref="triggers", on_delete="CASCADE")
    name = pw.CharField(max_length=200, default="")
    type = pw.CharField(max_length=16)
    cron = pw.CharField(max_length=200, null=True)
    timezone = pw.CharField(max_length=64, default="UTC")
    enabled = pw.BooleanField(default=True)
    inputs = JSONField(default=dict)
    priority = pw.IntegerField(default=0)
    misfire = pw.CharField(max_length=8, default="once")
    next_run = pw.DateTimeField(null=True, index=True)
    last_run = pw.DateTimeField(null=True)
    #: why the last scheduled fire started nothing (cleared by the next run that starts)
    last_error = pw.TextField(null=True)
    last_error_at = pw.DateTimeField(null=True)
    #: public, unguessable id used in the webhook URL
    webhook_id = pw.CharField(max_length=64, null=True, unique=True)
    #: optional HMAC secret (AES-GCM encrypted) for X-Exekra-Signature
    webhook_secret = pw.TextField(null=True)
    created_by = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "triggers"


class Credential(BaseModel):
    id = pw.AutoField()
    name = pw.CharField(max_length=200, unique=True)
    username = pw.CharField(max_length=400, null=True)
    description = pw.TextField(default="")
    secret = pw.TextField()  # AES-256-GCM, base64(nonce + ciphertext)
    #: host patterns the secret may be sent to (None or []: any host)
    allowed_hosts = JSONField(null=True)
    created_by = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "credentials"


class License(BaseModel):
    id = pw.AutoField()
    blob = pw.TextField()  # the .lic content, AES-256-GCM encrypted, base64(nonce + ciphertext)
    status = pw.CharField(max_length=16)
    activated_at = pw.DateTimeField(default=utcnow)
    checked_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "license"


class AuditLog(BaseModel):
    id = pw.AutoField()
    user_id = pw.IntegerField(null=True, index=True)
    user_email = pw.CharField(max_length=254, null=True)
    action = pw.CharField(max_length=64, index=True)
    resource = pw.CharField(max_length=200, default="")
    details = JSONField(null=True)
    ip = pw.CharField(max_length=64, null=True)
    at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "audit_logs"


class JobRun(BaseModel):
    """One row per periodic job: claiming ``next_due`` makes each run happen once per interval."""

    name = pw.CharField(max_length=64, primary_key=True)
    next_due = pw.DateTimeField()
    last_started = pw.DateTimeField(null=True)
    last_finished = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)
    owner = pw.CharField(max_length=100, null=True)

    class Meta:
        table_name = "job_runs"


ALL_MODELS: list[type[BaseModel]] = [
    User,
    Workflow,
    WorkflowVersion,
    Runner,
    Execution,
    ExecutionLog,
    ExecutionArtifact,
    SelectorRepair,
    Trigger,
    Credential,
    License,
    AuditLog,
    JobRun,
]
