"""Logic, loops, flow, variables and logging.

These return :class:`Branch` / :class:`Loop` objects or raise loop signals; the engine turns
them into ports and rounds. They run inline on the engine's thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workflows.catalog.core import DEFAULT_MAX_ITERATIONS, LOG_LEVELS
from workflows.expressions import ExpressionError, evaluate, format_value, is_identifier

from .base import (
    ActivityError,
    Branch,
    BreakLoop,
    Context,
    ContinueLoop,
    Loop,
    activity,
    integer,
    number,
    text,
)


def _condition(params: dict[str, Any], ctx: Context) -> bool:
    condition = params.get("condition")
    if not isinstance(condition, str) or not condition.strip():
        raise ActivityError("param 'condition' is required")
    try:
        return bool(evaluate(condition, ctx.variables))
    except ExpressionError as exc:
        raise ActivityError(f"condition {condition!r}: {exc}") from None


def _variable_name(params: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ActivityError(f"param {name!r} is required")
        return None
    if not is_identifier(value):
        raise ActivityError(f"param {name!r} must be a variable name, got {value!r}")
    return str(value)


@activity("logic.if", inline=True)
def logic_if(params: dict[str, Any], ctx: Context) -> Branch:
    return Branch("true" if _condition(params, ctx) else "false")


@activity("logic.switch", inline=True)
def logic_switch(params: dict[str, Any], ctx: Context) -> Branch:
    if "value" not in params:
        raise ActivityError("param 'value' is required")
    return Branch(format_value(params["value"]), fallback="default")


class _ForEach(Loop):
    def __init__(self, items: list[Any], item: str, index: str | None) -> None:
        self._items: Iterator[tuple[int, Any]] = enumerate(items)
        self._item = item
        self._index = index

    def next_round(self, variables: dict[str, Any]) -> bool:
        try:
            i, value = next(self._items)
        except StopIteration:
            return False
        variables[self._item] = value
        if self._index is not None:
            variables[self._index] = i
        return True


@activity("loop.for_each", inline=True)
def loop_for_each(params: dict[str, Any], ctx: Context) -> Loop:
    items = params.get("items")
    if isinstance(items, dict):
        items = list(items)
    if not isinstance(items, list | tuple):
        raise ActivityError(
            f"param 'items' must be a list, got {type(items).__name__} {format_value(items)[:80]!r}"
        )
    item = _variable_name(params, "item")
    assert item is not None
    return _ForEach(list(items), item, _variable_name(params, "index", required=False))


class _While(Loop):
    def __init__(self, params: dict[str, Any], ctx: Context, *, check_first: bool) -> None:
        self._params = params
        self._ctx = ctx
        self._check_first = check_first
        self._rounds = 0
        self._max = integer(params, "max_iterations", DEFAULT_MAX_ITERATIONS)
        if self._max < 1:
            raise ActivityError("param 'max_iterations' must be at least 1")

    def next_round(self, variables: dict[str, Any]) -> bool:
        first = self._rounds == 0
        if (self._check_first or not first) and not _condition(self._params, self._ctx):
            return False
        if self._rounds >= self._max:
            raise ActivityError(
                f"loop stopped after max_iterations={self._max} rounds (the condition still holds)"
            )
        self._rounds += 1
        return True


@activity("loop.while", inline=True)
def loop_while(params: dict[str, Any], ctx: Context) -> Loop:
    return _While(params, ctx, check_first=True)


@activity("loop.do_while", inline=True)
def loop_do_while(params: dict[str, Any], ctx: Context) -> Loop:
    return _While(params, ctx, check_first=False)


@activity("loop.break", inline=True)
def loop_break(params: dict[str, Any], ctx: Context) -> None:
    raise BreakLoop("loop.break")


@activity("loop.continue", inline=True)
def loop_continue(params: dict[str, Any], ctx: Context) -> None:
    raise ContinueLoop("loop.continue")


@activity("flow.delay")
def flow_delay(params: dict[str, Any], ctx: Context) -> None:
    seconds = number(params, "seconds")
    if seconds < 0:
        raise ActivityError(f"param 'seconds' must not be negative, got {seconds:g}")
    ctx.sleep(seconds)


@activity("variable.set", inline=True)
def variable_set(params: dict[str, Any], ctx: Context) -> None:
    name = _variable_name(params, "name")
    assert name is not None
    if "value" not in params:
        raise ActivityError("param 'value' is required")
    ctx.variables[name] = params["value"]


@activity("log.write", inline=True)
def log_write(params: dict[str, Any], ctx: Context) -> None:
    level = text(params, "level", "info").lower()
    if level not in LOG_LEVELS:
        raise ActivityError(f"param 'level' must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    ctx.log(level, format_value(params.get("message")))
