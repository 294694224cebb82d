"""Logging: ``log.write`` writes a line to the execution log."""

from __future__ import annotations

from typing import Any

from workflows.catalog.core import LOG_LEVELS
from workflows.expressions import format_value

from .base import ActivityError, Context, activity, text


@activity("log.write", inline=True)
def log_write(params: dict[str, Any], ctx: Context) -> None:
    level = text(params, "level", "info").lower()
    if level not in LOG_LEVELS:
        raise ActivityError(f"param 'level' must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    ctx.log(level, format_value(params.get("message")))
