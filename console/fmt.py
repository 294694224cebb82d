"""Small formatting helpers shared by the screens (times, sparklines, statuses)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from workflows.statuses import (
    ACTIVE_EXECUTION_STATUSES,
    UNFINISHED_EXECUTION_STATUSES,
    ExecutionStatus,
    LicenseStatus,
    RunnerStatus,
)

BARS = "▁▂▃▄▅▆▇█"

#: the colour of each status word (executions, runners, the license)
STATUS_STYLE: dict[str, str] = {
    ExecutionStatus.COMPLETED: "green",
    RunnerStatus.ONLINE: "green",
    LicenseStatus.ACTIVE: "green",
    ExecutionStatus.RUNNING: "cyan",
    RunnerStatus.BUSY: "cyan",
    ExecutionStatus.ASSIGNED: "cyan",
    ExecutionStatus.QUEUED: "yellow",
    LicenseStatus.GRACE_PERIOD: "yellow",
    ExecutionStatus.STOPPED: "magenta",
    ExecutionStatus.FAILED: "red",
    RunnerStatus.OFFLINE: "red",
    LicenseStatus.EXPIRED: "red",
    LicenseStatus.INVALID: "red",
    LicenseStatus.UNLICENSED: "red",
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


def percent_bars(values: Sequence[float], width: int, height: int = 2) -> list[str]:
    """The last ``width`` percentages as ``height`` rows of bars on a fixed 0-100 scale (a flat
    5 % stays low; auto-scaling would draw it at full height). Rows top first."""
    recent = list(values)[-width:] if width > 0 else []
    steps = height * len(BARS)
    rows = [[" "] * len(recent) for _ in range(height)]
    for col, value in enumerate(recent):
        level = round(max(0.0, min(float(value), 100.0)) / 100.0 * steps)
        if value > 0 and level == 0:
            level = 1  # anything above zero shows
        for row in range(height):  # row 0 is the bottom
            part = level - row * len(BARS)
            if part > 0:
                rows[height - 1 - row][col] = BARS[min(part, len(BARS)) - 1]
    return ["".join(r) for r in rows]


def duration(seconds: Any) -> str:
    """``850 ms`` under a second, ``12.3 s`` under a minute, then ``4m 05s`` / ``2h 03m``."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def can_stop(execution: dict[str, Any] | None) -> bool:
    return (execution or {}).get("status") in UNFINISHED_EXECUTION_STATUSES


def stop_outcome(execution_id: Any, answer: dict[str, Any]) -> str:
    """What a stop did, in words: stopped at once, or asked of the runner."""
    state = str(answer.get("status") or "")
    if state == ExecutionStatus.STOPPED:
        return f"execution {execution_id} stopped"
    if answer.get("stop_requested") or state in ACTIVE_EXECUTION_STATUSES:
        return f"execution {execution_id}: stop requested — its runner stops it within seconds"
    return f"execution {execution_id} is {state.lower() or 'finished'}: nothing to stop"


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
