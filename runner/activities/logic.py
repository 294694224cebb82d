"""Logic: ``logic.if`` and ``logic.switch`` answer with the port to continue on."""

from __future__ import annotations

from typing import Any

from workflows.expressions import format_value

from .base import ActivityError, Branch, Context, activity, condition


@activity("logic.if", inline=True)
def logic_if(params: dict[str, Any], ctx: Context) -> Branch:
    return Branch("true" if condition(params, ctx) else "false")


@activity("logic.switch", inline=True)
def logic_switch(params: dict[str, Any], ctx: Context) -> Branch:
    if "value" not in params:
        raise ActivityError("param 'value' is required")
    return Branch(format_value(params["value"]), fallback="default")
