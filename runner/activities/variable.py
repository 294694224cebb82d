"""Variables: ``variable.set``."""

from __future__ import annotations

from typing import Any

from .base import ActivityError, Context, activity, variable_name


@activity("variable.set", inline=True)
def variable_set(params: dict[str, Any], ctx: Context) -> None:
    name = variable_name(params, "name")
    assert name is not None
    if "value" not in params:
        raise ActivityError("param 'value' is required")
    ctx.variables[name] = params["value"]
