"""Flow: ``flow.delay`` waits, ending at once on a stop request or deadline."""

from __future__ import annotations

from typing import Any

from .base import ActivityError, Context, activity, number


@activity("flow.delay")
def flow_delay(params: dict[str, Any], ctx: Context) -> None:
    seconds = number(params, "seconds")
    if seconds < 0:
        raise ActivityError(f"param 'seconds' must not be negative, got {seconds:g}")
    ctx.sleep(seconds)
