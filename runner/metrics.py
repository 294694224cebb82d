"""Machine metrics for heartbeats (psutil; never blocking on a CPU interval)."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import psutil


def prime() -> None:
    """Start psutil's CPU counter so the first heartbeat's figure is meaningful."""
    psutil.cpu_percent(interval=None)


def system_metrics(path: Path) -> dict[str, Any]:
    try:
        disk = psutil.disk_usage(str(path)).percent
    except OSError:
        disk = psutil.disk_usage("/").percent
    return {
        "cpu": psutil.cpu_percent(interval=None),
        "memory": psutil.virtual_memory().percent,
        "disk": disk,
        "hostname": platform.node(),
    }
