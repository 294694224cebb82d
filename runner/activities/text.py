"""Text activities."""

from __future__ import annotations

from typing import Any

from workflows.catalog.text import CASES, TRIM_SIDES
from workflows.expressions import format_value
from workflows.patterns import PatternError, compile_pattern

from .base import ActivityError, Context, activity, boolean, integer, text


def _compile(params: dict[str, Any]) -> Any:
    """The node's pattern compiled by RE2 (linear time: no pattern can freeze the runner)."""
    pattern = text(params, "pattern")
    try:
        return compile_pattern(pattern, boolean(params, "ignore_case"))
    except PatternError as exc:
        raise ActivityError(str(exc)) from None


def _count(params: dict[str, Any]) -> int:
    count = integer(params, "count", 0)
    if count < 0:
        raise ActivityError("param 'count' must not be negative")
    return count


@activity("text.replace", inline=True)
def replace(params: dict[str, Any], ctx: Context) -> str:
    old = text(params, "old")
    if old == "":
        raise ActivityError("param 'old' must not be empty")
    count = _count(params)
    return text(params, "text").replace(old, text(params, "new", ""), count or -1)


@activity("text.split", inline=True)
def split(params: dict[str, Any], ctx: Context) -> list[str]:
    separator = params.get("separator")
    if separator == "":
        separator = None
    if separator is not None:
        separator = text(params, "separator")
    return text(params, "text").split(separator, integer(params, "max_split", -1))


@activity("text.join", inline=True)
def join(params: dict[str, Any], ctx: Context) -> str:
    items = params.get("items")
    if not isinstance(items, list | tuple):
        raise ActivityError(f"param 'items' must be a list, got {type(items).__name__}")
    return text(params, "separator", "").join(format_value(i) for i in items)


@activity("text.trim", inline=True)
def trim(params: dict[str, Any], ctx: Context) -> str:
    value = text(params, "text")
    chars = params.get("characters") or None
    if chars is not None:
        chars = text(params, "characters")
    side = text(params, "side", "both")
    if side not in TRIM_SIDES:
        raise ActivityError(f"param 'side' must be one of {', '.join(TRIM_SIDES)}, got {side!r}")
    if side == "start":
        return value.lstrip(chars)
    if side == "end":
        return value.rstrip(chars)
    return value.strip(chars)


@activity("text.case", inline=True)
def case(params: dict[str, Any], ctx: Context) -> str:
    value = text(params, "text")
    which = text(params, "case")
    if which not in CASES:
        raise ActivityError(f"param 'case' must be one of {', '.join(CASES)}, got {which!r}")
    result: str = getattr(value, which)()
    return result


@activity("text.format", inline=True)
def format_(params: dict[str, Any], ctx: Context) -> str:
    if "template" not in params:
        raise ActivityError("param 'template' is required")
    value = params["template"]
    spec = params.get("format")
    if spec in (None, ""):
        return format_value(value)
    try:
        return format(value, text(params, "format"))
    except (ValueError, TypeError) as exc:
        raise ActivityError(
            f"cannot format {format_value(value)[:80]!r} as {spec!r}: {exc}"
        ) from None


@activity("text.regex_match")
def regex_match(params: dict[str, Any], ctx: Context) -> bool:
    pattern = _compile(params)
    value = text(params, "text")
    found = pattern.fullmatch(value) if boolean(params, "full") else pattern.search(value)
    return found is not None


@activity("text.regex_replace")
def regex_replace(params: dict[str, Any], ctx: Context) -> str:
    pattern = _compile(params)
    try:
        return pattern.sub(text(params, "replacement", ""), text(params, "text"), _count(params))
    except (IndexError, ValueError) as exc:
        raise ActivityError(f"invalid replacement: {exc}") from None


@activity("text.regex_extract")
def regex_extract(params: dict[str, Any], ctx: Context) -> Any:
    pattern = _compile(params)
    group: int | str = 0
    raw = params.get("group")
    if raw not in (None, ""):
        if isinstance(raw, int) and not isinstance(raw, bool):
            group = raw
        elif isinstance(raw, str) and raw.isdigit():
            group = int(raw)
        elif isinstance(raw, str):
            group = raw
        else:
            raise ActivityError(f"param 'group' must be a number or a name, got {raw!r}")
        valid = group <= pattern.groups if isinstance(group, int) else group in pattern.groupindex
        if not valid:
            raise ActivityError(f"the pattern has no group {group!r}")
    matches = pattern.finditer(text(params, "text"))
    if boolean(params, "all", True):
        return [m.group(group) for m in matches]
    first = next(matches, None)
    return first.group(group) if first is not None else None
