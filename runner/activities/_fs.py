"""Helpers shared by the file, folder and ZIP activities."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from workflows.expressions import format_value

from .base import ActivityError, Context, text

COPY_CHUNK = 1024 * 1024


def path(params: dict[str, Any], name: str = "path") -> Path:
    value = text(params, name)
    if not value.strip():
        raise ActivityError(f"param {name!r} must not be empty")
    return Path(value).expanduser()


def encoding(params: dict[str, Any]) -> str:
    encoding = text(params, "encoding", "utf-8") or "utf-8"
    try:
        "".encode(encoding)
    except LookupError:
        raise ActivityError(f"unknown encoding {encoding!r}") from None
    return encoding


def os_error(action: str, exc: OSError) -> ActivityError:
    reason = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    return ActivityError(f"cannot {action}{where}: {reason}")


def content(params: dict[str, Any]) -> str:
    if "content" not in params or params["content"] is None:
        raise ActivityError("param 'content' is required")
    value = params["content"]
    return value if isinstance(value, str) else format_value(value)


def copy_file(source: Path, destination: Path, ctx: Context) -> None:
    """Copy in chunks so a stop request or timeout interrupts a large copy."""
    partial = destination.with_name(f".{destination.name}.exekra-partial")
    try:
        with source.open("rb") as src, partial.open("wb") as dst:
            while chunk := src.read(COPY_CHUNK):
                ctx.check()
                dst.write(chunk)
        shutil.copystat(source, partial)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
