"""Demo data for the web view tests, written straight into the hub's database.

The REST API for workflows, runners, executions and triggers was not in the tree when these
tests were written, so the rows go in through the hub's own models (the same tables the API
serves). Call ``seed()`` with the models bound to the hub's database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.models import (
    Execution,
    ExecutionLog,
    Runner,
    Trigger,
    Workflow,
    WorkflowVersion,
    utcnow,
)

XSS_NAME = "<script>alert(1)</script>"

ORDER_GRAPH = {
    "format": 1,
    "variables": {"customer": "ACME"},
    "nodes": [
        {"id": "read", "type": "file.read", "params": {"path": "in.txt", "output": "order"}},
        {"id": "check", "type": "logic.if", "params": {"condition": "len(order) > 0"}},
        {"id": "save", "type": "file.write", "params": {"path": "out.txt", "content": "{order}"}},
        {"id": "warn", "type": "log.write", "params": {"message": "empty order"}},
        {"id": "done", "type": "log.write", "params": {"message": "done"}},
    ],
    "edges": [
        {"from": "read", "to": "check"},
        {"from": "check", "to": "save", "port": "true"},
        {"from": "check", "to": "warn", "port": "false"},
        {"from": "save", "to": "done"},
    ],
}

XSS_GRAPH = {
    "format": 1,
    "variables": {},
    "nodes": [
        {
            "id": "<b>x</b>",
            "type": "log.write",
            "params": {"message": "<img src=x onerror=alert(2)>"},
        }
    ],
    "edges": [],
}


def seed(now: dt.datetime | None = None) -> dict[str, Any]:
    """Workflows, versions, triggers, runners, executions and logs (all in the database)."""
    now = now or utcnow()
    order = Workflow.create(
        name="Order intake",
        description="Reads an order file and files it",
        latest_version=2,
        published_version=1,
    )
    WorkflowVersion.create(
        workflow=order, number=1, graph=ORDER_GRAPH, published_at=now - dt.timedelta(days=1)
    )
    WorkflowVersion.create(workflow=order, number=2, graph={**ORDER_GRAPH, "edges": []})
    xss = Workflow.create(
        name=XSS_NAME, description="<i>not italic</i>", latest_version=1, published_version=1
    )
    WorkflowVersion.create(workflow=xss, number=1, graph=XSS_GRAPH, published_at=now)
    ids = seed_fleet(order.id, xss.id, now)
    schedule = Trigger.create(
        workflow=order,
        name="nightly",
        type="SCHEDULE",
        cron="0 2 * * *",
        timezone="Europe/Paris",
        next_run=now + dt.timedelta(hours=5),
    )
    webhook = Trigger.create(
        workflow=order,
        name="from CRM",
        type="WEBHOOK",
        webhook_id="wh_3f9a1c0d2b",
        webhook_secret="SEALED-SECRET-VALUE-MUST-NOT-SHOW",
    )
    return {
        "order": order.id,
        "xss": xss.id,
        **ids,
        "triggers": {"schedule": schedule.id, "webhook": webhook.id},
    }


def seed_fleet(order: int, xss: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """Runners (one BUSY with heartbeat history), executions in four states, their logs."""
    now = now or utcnow()

    history = [
        [(now - dt.timedelta(seconds=30 * (9 - i))).isoformat(), 10 + 8 * i, 40 + i, 55]
        for i in range(10)
    ]
    busy = Runner.create(
        name="runner-busy",
        machine_key="FC-busy",
        secret_hash="x",
        status="BUSY",
        labels=["windows", "excel"],
        last_seen=now - dt.timedelta(seconds=12),
        cpu=82.0,
        memory=49.0,
        disk=55.0,
        version="0.1.0",
        hostname="ws-01",
        metrics_history=history,
    )
    idle = Runner.create(
        name="runner-idle",
        machine_key="FC-idle",
        secret_hash="x",
        status="OFFLINE",
        last_seen=now - dt.timedelta(hours=3),
        metrics_history=[],
    )

    def execution(status: str, hours_ago: float, **kw: Any) -> Execution:
        queued = now - dt.timedelta(hours=hours_ago)
        started = queued + dt.timedelta(seconds=5) if status not in ("QUEUED",) else None
        finished = (
            queued + dt.timedelta(seconds=65)
            if status in ("COMPLETED", "FAILED", "STOPPED")
            else None
        )
        return Execution.create(
            workflow=kw.pop("workflow", order),
            version=1,
            status=status,
            queued_at=queued,
            started_at=started,
            finished_at=finished,
            trigger={"type": kw.pop("trigger_type", "MANUAL")},
            **kw,
        )

    done = execution(
        "COMPLETED",
        5,
        runner=idle,
        metrics={"cpu_avg": 12.5, "cpu_peak": 40.0, "mem_avg_mb": 120.0, "mem_peak_mb": 180.5},
    )
    failed = execution(
        "FAILED",
        2,
        runner=idle,
        error="file.write: permission denied: out.txt",
        failed_node="save",
        metrics={"cpu_avg": 5.0, "cpu_peak": 9.0, "mem_avg_mb": 80.0, "mem_peak_mb": 90.0},
    )
    running = execution("RUNNING", 0.1, runner=busy, trigger_type="SCHEDULE")
    queued = execution("QUEUED", 0, required_labels=["linux"], workflow=xss)
    Runner.update(current_execution_id=running.id).where(Runner.id == busy.id).execute()
    for e in (done, failed, running):
        for seq, (level, node, msg) in enumerate(
            [
                ("info", "read", "read 3 lines from in.txt"),
                ("warning", "check", "order has <b>odd</b> characters"),
                ("error" if e is failed else "info", "save", "writing out.txt"),
            ],
            start=1,
        ):
            ExecutionLog.create(
                execution=e,
                seq=seq,
                at=e.queued_at + dt.timedelta(seconds=seq),
                level=level,
                node_id=node,
                message=msg,
            )
    return {
        "runners": {"busy": busy.id, "idle": idle.id},
        "executions": {
            "done": done.id,
            "failed": failed.id,
            "running": running.id,
            "queued": queued.id,
        },
    }
