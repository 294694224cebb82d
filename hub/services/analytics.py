"""Analytics: the dashboard summary and per-workflow process performance."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from workflows.statuses import FINAL_EXECUTION_STATUSES, ExecutionStatus, RunnerStatus

from ..models import Execution, Runner, Workflow, iso, utcnow
from . import sql

STATUSES = tuple(ExecutionStatus)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 3)


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def summary(now: dt.datetime | None = None, hours: int = 24) -> dict[str, Any]:
    now = now or utcnow()
    by_status = {s: 0 for s in STATUSES}
    for status, count in sql.all_rows("SELECT status, COUNT(*) FROM executions GROUP BY status"):
        by_status[status] = int(count)
    runners: dict[str, int] = {s: 0 for s in RunnerStatus}
    for status, count in sql.all_rows("SELECT status, COUNT(*) FROM runners GROUP BY status"):
        runners[status] = int(count)
    start = (now - dt.timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    buckets: dict[dt.datetime, dict[str, int]] = {
        start + dt.timedelta(hours=i): {
            "total": 0,
            ExecutionStatus.COMPLETED: 0,
            ExecutionStatus.FAILED: 0,
        }
        for i in range(hours)
    }
    # grouped in the database: a dashboard must not load every execution of the day
    hour = (
        "to_char(queued_at, 'YYYY-MM-DD HH24')"
        if sql.pg()
        else "strftime('%Y-%m-%d %H', queued_at)"
    )
    for label, status, count in sql.all_rows(
        f"SELECT {hour}, status, COUNT(*) FROM executions WHERE queued_at >= ? GROUP BY 1, 2",
        (sql.ts(start),),
    ):
        bucket = buckets.get(dt.datetime.strptime(label, "%Y-%m-%d %H"))
        if bucket is None:
            continue
        bucket["total"] += int(count)
        if status in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED):
            bucket[status] += int(count)
    finished = by_status[ExecutionStatus.COMPLETED] + by_status[ExecutionStatus.FAILED]
    return {
        "executions": {**by_status, "total": sum(by_status.values())},
        "runners": {**runners, "total": sum(runners.values())},
        "success_rate": round(by_status[ExecutionStatus.COMPLETED] / finished, 4)
        if finished
        else None,
        "per_hour": [
            {
                "hour": iso(hour),
                "total": b["total"],
                "completed": b[ExecutionStatus.COMPLETED],
                "failed": b[ExecutionStatus.FAILED],
            }
            for hour, b in sorted(buckets.items())
        ],
        "workflows": Workflow.select().where(Workflow.archived == False).count(),  # noqa: E712
        "registered_runners": Runner.select().count(),
    }


def process_performance(workflow_id: int | None = None) -> dict[str, Any]:
    query = (
        Execution.select(
            Execution.workflow,
            Workflow.name,
            Execution.status,
            Execution.started_at,
            Execution.finished_at,
            Execution.metrics,
        )
        .join(Workflow)
        .where(Execution.status.in_(FINAL_EXECUTION_STATUSES))
    )
    if workflow_id is not None:
        query = query.where(Execution.workflow == workflow_id)
    groups: dict[int, dict[str, Any]] = {}
    rows: list[tuple[Any, ...]] = list(query.tuples())  # type: ignore[arg-type]
    for row in rows:
        wf_id, name, status, started, finished, metrics = row
        g = groups.setdefault(
            wf_id,
            {
                "name": name,
                "runs": 0,
                "completed": 0,
                "failed": 0,
                "stopped": 0,
                "durations": [],
                "cpu_avg": [],
                "cpu_peak": [],
                "mem_avg": [],
                "mem_peak": [],
            },
        )
        g["runs"] += 1
        g[status.lower()] += 1
        started, finished = sql.parse_ts(started), sql.parse_ts(finished)
        if started and finished:
            g["durations"].append((finished - started).total_seconds())
        if isinstance(metrics, str):
            try:
                metrics = json.loads(metrics)
            except ValueError:
                metrics = None
        if isinstance(metrics, dict):
            for key, target in (
                ("cpu_avg", "cpu_avg"),
                ("cpu_peak", "cpu_peak"),
                ("mem_avg_mb", "mem_avg"),
                ("mem_peak_mb", "mem_peak"),
            ):
                value = metrics.get(key)
                if isinstance(value, int | float):
                    g[target].append(float(value))
    items = []
    for wf_id, g in sorted(groups.items()):
        decided = g["completed"] + g["failed"]
        items.append(
            {
                "workflow_id": wf_id,
                "workflow_name": g["name"],
                "runs": g["runs"],
                "completed": g["completed"],
                "failed": g["failed"],
                "stopped": g["stopped"],
                "success_rate": round(g["completed"] / decided, 4) if decided else None,
                "duration_p50": _percentile(g["durations"], 0.5),
                "duration_p95": _percentile(g["durations"], 0.95),
                "cpu_avg": _avg(g["cpu_avg"]),
                "cpu_peak": max(g["cpu_peak"]) if g["cpu_peak"] else None,
                "mem_avg_mb": _avg(g["mem_avg"]),
                "mem_peak_mb": max(g["mem_peak"]) if g["mem_peak"] else None,
            }
        )
    return {"items": items, "total": len(items)}
