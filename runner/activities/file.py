"""Files: read, write, append, copy, move, delete, exists, attach (as an execution artifact)."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Any

from . import _fs as fs
from .base import ActivityError, Context, activity, boolean, text


@activity("file.read")
def file_read(params: dict[str, Any], ctx: Context) -> str:
    path = fs.path(params)
    encoding = fs.encoding(params)
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise ActivityError(f"cannot read {path} as {encoding}: {exc.reason}") from None
    except OSError as exc:
        raise fs.os_error("read file", exc) from None


@activity("file.write")
def file_write(params: dict[str, Any], ctx: Context) -> None:
    path = fs.path(params)
    content = fs.content(params)
    encoding = fs.encoding(params)
    overwrite = boolean(params, "overwrite", True)
    _put(
        path,
        content,
        encoding,
        "w" if overwrite else "x",
        "write file",
        exists=f"file exists and overwrite is false: {path}",
    )


@activity("file.append")
def file_append(params: dict[str, Any], ctx: Context) -> None:
    path = fs.path(params)
    content = fs.content(params)
    encoding = fs.encoding(params)
    _put(path, content, encoding, "a", "append to file")


def _put(
    path: Path, content: str, encoding: str, mode: str, action: str, *, exists: str = ""
) -> None:
    """Write ``content`` to ``path`` opened with ``mode``, its folder made first; failures as
    node errors (``action`` names what failed; ``exists``, when given, is the message for a
    FileExistsError)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open(mode, encoding=encoding) as fh:
            fh.write(content)
    except FileExistsError as exc:
        raise (ActivityError(exists) if exists else fs.os_error(action, exc)) from None
    except UnicodeEncodeError as exc:
        raise ActivityError(f"cannot write the content as {encoding}: {exc.reason}") from None
    except OSError as exc:
        raise fs.os_error(action, exc) from None


def _target(params: dict[str, Any]) -> tuple[Path, Path]:
    source = fs.path(params, "source")
    destination = fs.path(params, "destination")
    if not source.is_file():
        what = "is a folder, not a file" if source.is_dir() else "does not exist"
        raise ActivityError(f"source {what}: {source}")
    if destination.is_dir():
        destination = destination / source.name
    if destination.exists() and not boolean(params, "overwrite", True):
        raise ActivityError(f"destination exists and overwrite is false: {destination}")
    if destination.exists() and destination.resolve() == source.resolve():
        raise ActivityError(f"source and destination are the same file: {source}")
    return source, destination


@activity("file.copy")
def file_copy(params: dict[str, Any], ctx: Context) -> str:
    source, destination = _target(params)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        fs.copy_file(source, destination, ctx)
    except OSError as exc:
        raise fs.os_error("copy file", exc) from None
    return str(destination)


@activity("file.move")
def file_move(params: dict[str, Any], ctx: Context) -> str:
    source, destination = _target(params)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, destination)
        except OSError:  # another file system: copy, then delete
            fs.copy_file(source, destination, ctx)
            source.unlink()
    except OSError as exc:
        raise fs.os_error("move file", exc) from None
    return str(destination)


@activity("file.delete")
def file_delete(params: dict[str, Any], ctx: Context) -> None:
    path = fs.path(params)
    if path.is_dir():
        raise ActivityError(f"is a folder, not a file (use folder.delete): {path}")
    try:
        path.unlink(missing_ok=boolean(params, "missing_ok"))
    except FileNotFoundError:
        raise ActivityError(f"file does not exist: {path}") from None
    except OSError as exc:
        raise fs.os_error("delete file", exc) from None


@activity("file.exists")
def file_exists(params: dict[str, Any], ctx: Context) -> bool:
    path = fs.path(params)
    return path.is_file() or (boolean(params, "folders") and path.is_dir())


#: a file this large is refused before it is read (the hub's own limit is lower by default)
ATTACH_MAX_BYTES = 1 << 30


@activity("file.attach")
def file_attach(params: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    path = fs.path(params)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise ActivityError(f"file {what}: {path}")
    name = text(params, "name", "") or path.name
    kind = text(params, "kind", "file") or "file"
    content_type = (
        text(params, "content_type", "")
        or mimetypes.guess_type(name)[0]
        or "application/octet-stream"
    )
    try:
        size = path.stat().st_size
        if size > ATTACH_MAX_BYTES:
            raise ActivityError(
                f"file is {size} bytes, more than the {ATTACH_MAX_BYTES} an artifact may be: {path}"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise fs.os_error("read file", exc) from None
    record = ctx.scope.add_artifact(
        name, data, kind=kind, content_type=content_type, node_id=ctx.node_id
    )
    if record is None:
        ctx.log(
            "warning",
            f"{name} ({len(data)} bytes) was not attached: the hub did not take it "
            "(the runner's log says why)",
        )
        return None
    ctx.log("info", f"attached {name} ({len(data)} bytes) to the execution")
    return {k: v for k, v in record.items() if k != "data"}
