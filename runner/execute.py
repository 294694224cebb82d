"""Runs one execution payload from the hub with the engine and shapes the final report."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .activities.base import ExecutionScope
from .engine import Engine, LogLine, Status

REASONS = {Status.FAILED: "activity_error", Status.STOPPED: "stopped"}


def run_execution(
    payload: dict[str, Any],
    sink: Callable[[dict[str, Any]], None],
    stop: threading.Event,
    *,
    timeout: float | None = None,
    metrics_interval: float = 5.0,
    scope: ExecutionScope | None = None,
) -> dict[str, Any]:
    """Execute ``payload`` (the poll answer); return ``{status, error, failed_node, reason,
    metrics}`` for the hub. Log lines go to ``sink`` as dicts while it runs; ``scope`` carries
    the sinks that upload the execution's artifacts and selector repairs."""

    def on_line(line: LogLine) -> None:
        sink(line.to_dict())

    engine = Engine(
        payload["graph"],
        payload.get("inputs") or {},
        payload.get("credentials") or {},
        on_line,
        stop,
        timeout=timeout,
        metrics_interval=metrics_interval,
        scope=scope,
    )
    result = engine.run()
    report: dict[str, Any] = {"status": str(result.status), "metrics": result.metrics}
    if result.status != Status.COMPLETED:
        report["error"] = result.error
        report["failed_node"] = result.failed_node
        report["reason"] = REASONS.get(result.status)
    return report
