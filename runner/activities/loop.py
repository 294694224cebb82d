"""Loops: the activity returns a :class:`Loop` whose rounds the engine runs; break and
continue are signals the innermost running loop catches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workflows.catalog.core import DEFAULT_MAX_ITERATIONS
from workflows.expressions import format_value

from .base import (
    ActivityError,
    BreakLoop,
    Context,
    ContinueLoop,
    Loop,
    activity,
    condition,
    integer,
    variable_name,
)


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
    item = variable_name(params, "item")
    assert item is not None
    return _ForEach(list(items), item, variable_name(params, "index", required=False))


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
        if (self._check_first or not first) and not condition(self._params, self._ctx):
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
