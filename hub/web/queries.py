"""Read-only queries behind the web pages (same process, same models as the REST API).

Nothing here writes. Each function returns plain dicts/lists for the templates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import peewee as pw

from workflows.statuses import UNFINISHED_EXECUTION_STATUSES, RunnerStatus

from ..models import (
    EXECUTION_STATUSES,
    AuditLog,
    Execution,
    ExecutionLog,
    Runner,
    Trigger,
    User,
    Workflow,
    WorkflowVersion,
    utcnow,
)
from ..services import analytics
from ..services.executions import ExecutionService
from ..services.workflows import version_status

#: what the pages refresh for
ACTIVE = UNFINISHED_EXECUTION_STATUSES


def _tuples(query: Any) -> list[tuple[Any, ...]]:
    """Rows as tuples (peewee's stubs type ``.tuples()`` as models; they are tuples)."""
    return list(query.tuples())


RUNNER_STATUSES = tuple(RunnerStatus)
PAGE_SIZE = 50
LOG_LIMIT = 1000


def dashboard(now: dt.datetime | None = None) -> dict[str, Any]:
    """Counts by status, runners by status and executions per hour (the analytics summary)."""
    summary = analytics.summary(now)
    counts = {s: summary["executions"].get(s, 0) for s in EXECUTION_STATUSES}
    runners = {s: summary["runners"].get(s, 0) for s in RUNNER_STATUSES}
    per_hour = [
        (str(h["hour"])[11:16], int(h["total"]), int(h["completed"]), int(h["failed"]))
        for h in summary["per_hour"]
    ]
    return {
        "counts": counts,
        "runner_counts": runners,
        "per_hour": per_hour,
        "workflow_total": summary["workflows"],
        "success_rate": summary["success_rate"],
    }


def any_active(workflow_id: int | None = None) -> bool:
    query = Execution.select(Execution.id).where(Execution.status.in_(ACTIVE))
    if workflow_id is not None:
        query = query.where(Execution.workflow == workflow_id)
    return query.exists()


def _names(model: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(_tuples(model.select(model.id, model.name).where(model.id.in_(ids))))


def _duration(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None:
        return None
    return max(((end or utcnow()) - start).total_seconds(), 0.0)


def _execution_row(e: Any, workflows: dict[int, str], runners: dict[int, str]) -> dict:
    trigger = e.trigger if isinstance(e.trigger, dict) else {}
    return {
        "id": e.id,
        "workflow_id": e.workflow_id,
        "workflow": workflows.get(e.workflow_id, f"#{e.workflow_id}"),
        "version": e.version,
        "status": e.status,
        "runner_id": e.runner_id,
        "runner": runners.get(e.runner_id) if e.runner_id else None,
        "trigger": trigger.get("type") or trigger.get("kind") or "",
        "priority": e.priority,
        "queued_at": e.queued_at,
        "started_at": e.started_at,
        "finished_at": e.finished_at,
        "duration": _duration(e.started_at, e.finished_at),
        "error": e.error,
        "reason": e.reason,
        "failed_node": e.failed_node,
    }


def executions(
    service: ExecutionService,
    *,
    status: str | None = None,
    workflow_id: int | None = None,
    runner_id: int | None = None,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of executions, newest first: the API's own listing (the same filters and
    order), shaped for the templates."""
    found, total = service.list(
        status=status, workflow_id=workflow_id, runner_id=runner_id, limit=limit, offset=offset
    )
    rows: list[Any] = found
    workflows = _names(Workflow, {r.workflow_id for r in rows})
    runners = _names(Runner, {r.runner_id for r in rows if r.runner_id})
    return [_execution_row(r, workflows, runners) for r in rows], total


def execution(execution_id: int) -> dict[str, Any] | None:
    e: Any = Execution.get_or_none(Execution.id == execution_id)
    if e is None:
        return None
    workflows = _names(Workflow, {e.workflow_id})
    runners = _names(Runner, {e.runner_id} if e.runner_id else set())
    row = _execution_row(e, workflows, runners)
    row["inputs"] = e.inputs or {}
    row["trigger_info"] = e.trigger or {}
    row["metrics"] = e.metrics if isinstance(e.metrics, dict) else {}
    row["attempt"] = e.attempt
    row["target_runner"] = (
        _names(Runner, {e.target_runner_id}).get(e.target_runner_id) if e.target_runner_id else None
    )
    row["required_labels"] = e.required_labels or []
    version = (
        WorkflowVersion.select(WorkflowVersion.graph)
        .where((WorkflowVersion.workflow == e.workflow_id) & (WorkflowVersion.number == e.version))
        .first()
    )
    row["graph"] = version.graph if version else None
    return row


def execution_logs(execution_id: int, limit: int = LOG_LIMIT) -> tuple[list[dict], int]:
    query = ExecutionLog.select().where(ExecutionLog.execution == execution_id)
    total = query.count()
    rows = query.order_by(ExecutionLog.seq.desc()).limit(limit)
    logs = [
        {"seq": r.seq, "at": r.at, "level": r.level, "node_id": r.node_id, "message": r.message}
        for r in rows
    ]
    logs.reverse()
    return logs, total


def workflows() -> list[dict[str, Any]]:
    rows = list(
        Workflow.select().where(Workflow.archived == False).order_by(Workflow.name)  # noqa: E712
    )
    counts = dict(
        _tuples(
            Execution.select(Execution.workflow, pw.fn.COUNT(Execution.id)).group_by(
                Execution.workflow
            )
        )
    )
    return [
        {
            "id": w.id,
            "name": w.name,
            "description": w.description,
            "latest_version": w.latest_version,
            "published_version": w.published_version,
            "updated_at": w.updated_at,
            "executions": counts.get(w.id, 0),
        }
        for w in rows
    ]


def workflow_names() -> list[tuple[int, str]]:
    return [
        (i, n)
        for i, n in _tuples(Workflow.select(Workflow.id, Workflow.name).order_by(Workflow.name))
    ]


def workflow(workflow_id: int) -> Workflow | None:
    return Workflow.get_or_none(Workflow.id == workflow_id)


def versions(workflow: Workflow) -> list[dict[str, Any]]:
    rows = list(
        WorkflowVersion.select(
            WorkflowVersion.number,
            WorkflowVersion.comment,
            WorkflowVersion.published_at,
            WorkflowVersion.created_at,
            WorkflowVersion.created_by,
        )
        .where(WorkflowVersion.workflow == workflow.id)
        .order_by(WorkflowVersion.number.desc())
    )
    authors = dict(
        _tuples(
            User.select(User.id, User.email).where(
                User.id.in_({r.created_by for r in rows if r.created_by})
            )
        )
    )
    return [
        {
            "number": r.number,
            "state": version_status(workflow, r),
            "comment": r.comment,
            "published_at": r.published_at,
            "created_at": r.created_at,
            "created_by": authors.get(r.created_by),
        }
        for r in rows
    ]


def version_graph(workflow_id: int, number: int) -> Any:
    row = (
        WorkflowVersion.select(WorkflowVersion.graph)
        .where((WorkflowVersion.workflow == workflow_id) & (WorkflowVersion.number == number))
        .first()
    )
    return row.graph if row else None


def runners() -> list[dict[str, Any]]:
    out = []
    for r in Runner.select().order_by(Runner.name):
        history = r.metrics_history if isinstance(r.metrics_history, list) else []
        samples = [h for h in history if isinstance(h, list | tuple) and len(h) >= 3]
        out.append(
            {
                "id": r.id,
                "name": r.name,
                "status": r.status,
                "labels": r.labels or [],
                "last_seen": r.last_seen,
                "cpu": r.cpu,
                "memory": r.memory,
                "disk": r.disk,
                "version": r.version,
                "hostname": r.hostname,
                "current_execution_id": r.current_execution_id,
                "cpu_history": [s[1] for s in samples if isinstance(s[1], int | float)],
                "memory_history": [s[2] for s in samples if isinstance(s[2], int | float)],
            }
        )
    return out


def triggers(service: Any, base_url: str, workflow_id: int | None = None) -> list[dict[str, Any]]:
    """Triggers as the API shows them (``TriggerService.to_dict``: webhook URL, never the
    secret; ``next_run`` only while a schedule is enabled), with times kept as datetimes."""
    query = Trigger.select().order_by(Trigger.id)
    if workflow_id is not None:
        query = query.where(Trigger.workflow == workflow_id)
    rows: list[Any] = list(query)
    names = _names(Workflow, {t.workflow_id for t in rows})
    out = []
    for t in rows:
        api = service.to_dict(t, base_url)
        out.append(
            {
                "id": t.id,
                "name": api["name"],
                "workflow_id": api["workflow_id"],
                "workflow": names.get(t.workflow_id, f"#{t.workflow_id}"),
                "type": api["type"],
                "cron": api["cron"],
                "timezone": api["timezone"],
                "enabled": api["enabled"],
                "next_run": t.next_run if api["next_run"] else None,
                "last_run": t.last_run,
                "url": api["url"],
                "signed": api["signed"],
            }
        )
    return out


def audit(
    *, action: str | None = None, limit: int = PAGE_SIZE, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    query = AuditLog.select()
    if action:
        query = query.where(AuditLog.action == action)
    total = query.count()
    rows = query.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit).offset(offset)
    return [
        {
            "id": a.id,
            "at": a.at,
            "user_email": a.user_email,
            "action": a.action,
            "resource": a.resource,
            "ip": a.ip,
        }
        for a in rows
    ], total


def audit_actions() -> list[str]:
    rows = _tuples(AuditLog.select(AuditLog.action).distinct().order_by(AuditLog.action))
    return [a for (a,) in rows]


def users() -> list[User]:
    return list(User.select().order_by(User.email))
