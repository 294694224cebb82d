"""Runs one execution payload from the hub with the engine and shapes the final report; and
the folder that keeps a local run's artifacts (``exekra runner execute``)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .activities._filenames import safe_name
from .activities.base import ExecutionScope, RunnerPolicy
from .engine import Engine, LogLine, Status

REASONS = {Status.FAILED: "activity_error", Status.STOPPED: "stopped"}


def run_execution(
    payload: dict[str, Any],
    sink: Callable[[dict[str, Any]], None],
    stop: threading.Event,
    *,
    timeout: float | None = None,
    metrics_interval: float = 5.0,
    policy: RunnerPolicy | None = None,
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
        policy=policy,
        scope=scope,
    )
    result = engine.run()
    report: dict[str, Any] = {"status": str(result.status), "metrics": result.metrics}
    if result.status != Status.COMPLETED:
        report["error"] = result.error
        report["failed_node"] = result.failed_node
        report["reason"] = REASONS.get(result.status)
    return report


class FolderArtifacts:
    """An artifact sink for local runs: each artifact becomes ``<folder>/<n>-<name>``.

    The name is reduced to a plain file name (no folder part, no control characters), so an
    artifact never lands outside ``folder``; the file is written to a temporary name first and
    then renamed, so a half-written artifact never looks finished.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._count = 0
        self._lock = threading.Lock()

    def __call__(
        self, name: str, data: bytes, kind: str, content_type: str, node_id: str | None
    ) -> dict[str, Any]:
        with self._lock:
            self._count += 1
            number = self._count
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{number:03d}-{safe_name(name, 'artifact', control='')}"
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return {
            "name": name,
            "kind": kind,
            "content_type": content_type,
            "node_id": node_id,
            "size": len(data),
            "path": str(path),
        }

    def write_repairs(self, repairs: list[dict[str, Any]]) -> Path | None:
        """The run's selector repairs as ``repairs.json`` (None when there were none)."""
        if not repairs:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "repairs.json"
        path.write_text(json.dumps(repairs, indent=2, ensure_ascii=False, default=str) + "\n")
        return path
