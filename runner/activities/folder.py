"""Folders: create, list (glob), delete."""

from __future__ import annotations

import shutil
from pathlib import PurePosixPath
from typing import Any

from workflows.catalog.files import LIST_KINDS

from . import _fs as fs
from .base import ActivityError, Context, activity, boolean, text


@activity("folder.create")
def folder_create(params: dict[str, Any], ctx: Context) -> str:
    path = fs.path(params)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ActivityError(f"a file with that name exists: {path}") from None
    except OSError as exc:
        raise fs.os_error("create folder", exc) from None
    return str(path)


@activity("folder.list")
def folder_list(params: dict[str, Any], ctx: Context) -> list[str]:
    path = fs.path(params)
    if not path.is_dir():
        raise ActivityError(f"folder does not exist: {path}")
    pattern = text(params, "pattern", "*") or "*"
    kind = text(params, "kind", "all")
    if kind not in LIST_KINDS:
        raise ActivityError(f"param 'kind' must be one of {', '.join(LIST_KINDS)}, got {kind!r}")
    if PurePosixPath(pattern).is_absolute() or ".." in PurePosixPath(pattern).parts:
        raise ActivityError(f"pattern must be relative to the folder: {pattern!r}")
    try:
        found = path.rglob(pattern) if boolean(params, "recursive") else path.glob(pattern)
        out = []
        for entry in found:
            ctx.check()
            if (kind == "files" and not entry.is_file()) or (
                kind == "folders" and not entry.is_dir()
            ):
                continue
            out.append(str(entry))
    except (OSError, ValueError) as exc:
        raise ActivityError(f"cannot list {path}: {exc}") from None
    return sorted(out)


@activity("folder.delete")
def folder_delete(params: dict[str, Any], ctx: Context) -> None:
    path = fs.path(params)
    if not path.exists():
        if boolean(params, "missing_ok"):
            return
        raise ActivityError(f"folder does not exist: {path}")
    if not path.is_dir():
        raise ActivityError(f"is a file, not a folder (use file.delete): {path}")
    try:
        if boolean(params, "recursive"):
            shutil.rmtree(path)
        else:
            path.rmdir()
    except OSError as exc:
        if not boolean(params, "recursive") and any(path.iterdir()):
            raise ActivityError(f"folder is not empty (set recursive): {path}") from None
        raise fs.os_error("delete folder", exc) from None
