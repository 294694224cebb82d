"""Small formatting helpers shared by the screens (times, sparklines, statuses)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

BARS = "▁▂▃▄▅▆▇█"

STATUS_STYLE = {
    "COMPLETED": "green",
    "ONLINE": "green",
    "IDLE": "green",
    "ACTIVE": "green",
    "RUNNING": "cyan",
    "BUSY": "cyan",
    "ASSIGNED": "cyan",
    "QUEUED": "yellow",
    "GRACE_PERIOD": "yellow",
    "STOPPED": "magenta",
    "FAILED": "red",
    "OFFLINE": "red",
    "EXPIRED": "red",
    "INVALID": "red",
    "UNLICENSED": "red",
    "DISABLED": "dim",
}


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def ago(value: str | None, now: dt.datetime | None = None) -> str:
    """``just now`` / ``5m ago`` / ``3h ago`` / ``2d ago`` / a date; ``—`` when unset."""
    when = parse_time(value)
    if when is None:
        return "—"
    now = now or dt.datetime.now(dt.UTC)
    seconds = (now - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now" if not future else "in <1m"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            count = int(seconds // size)
            if unit == "d" and count > 30:
                return when.strftime("%Y-%m-%d")
            return f"in {count}{unit}" if future else f"{count}{unit} ago"
    return "—"  # pragma: no cover


def when(value: str | None) -> str:
    """An absolute UTC time, to the second."""
    parsed = parse_time(value)
    return parsed.strftime("%Y-%m-%d %H:%M:%S") if parsed else "—"


def spark(values: Sequence[float], maximum: float | None = None) -> str:
    """A one-line sparkline of ``values`` (0..maximum, default the largest value)."""
    if not values:
        return ""
    top = maximum if maximum is not None else max(values)
    if not top:
        return BARS[0] * len(values)
    out = []
    for v in values:
        index = round(max(0.0, min(float(v), top)) / top * (len(BARS) - 1))
        out.append(BARS[index])
    return "".join(out)


def status(value: Any) -> str:
    """Rich markup for a status word, coloured by meaning."""
    text = str(value or "—")
    style = STATUS_STYLE.get(text.strip().upper())
    return f"[{style}]{text}[/]" if style else text


def pct(value: Any) -> str:
    try:
        return f"{float(value):3.0f}%"
    except (TypeError, ValueError):
        return "  —"
