"""File, folder and ZIP activities."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from workflows.catalog.files import LIST_KINDS
from workflows.expressions import format_value

from .base import ActivityError, Context, activity, boolean, text

COPY_CHUNK = 1024 * 1024


def _path(params: dict[str, Any], name: str = "path") -> Path:
    value = text(params, name)
    if not value.strip():
        raise ActivityError(f"param {name!r} must not be empty")
    return Path(value).expanduser()


def _encoding(params: dict[str, Any]) -> str:
    encoding = text(params, "encoding", "utf-8") or "utf-8"
    try:
        "".encode(encoding)
    except LookupError:
        raise ActivityError(f"unknown encoding {encoding!r}") from None
    return encoding


def _os_error(action: str, exc: OSError) -> ActivityError:
    reason = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    return ActivityError(f"cannot {action}{where}: {reason}")


def _content(params: dict[str, Any]) -> str:
    if "content" not in params or params["content"] is None:
        raise ActivityError("param 'content' is required")
    value = params["content"]
    return value if isinstance(value, str) else format_value(value)


@activity("file.read")
def file_read(params: dict[str, Any], ctx: Context) -> str:
    path = _path(params)
    encoding = _encoding(params)
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise ActivityError(f"cannot read {path} as {encoding}: {exc.reason}") from None
    except OSError as exc:
        raise _os_error("read file", exc) from None


@activity("file.write")
def file_write(params: dict[str, Any], ctx: Context) -> None:
    path = _path(params)
    content = _content(params)
    encoding = _encoding(params)
    overwrite = boolean(params, "overwrite", True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w" if overwrite else "x", encoding=encoding) as fh:
            fh.write(content)
    except FileExistsError:
        raise ActivityError(f"file exists and overwrite is false: {path}") from None
    except UnicodeEncodeError as exc:
        raise ActivityError(f"cannot write the content as {encoding}: {exc.reason}") from None
    except OSError as exc:
        raise _os_error("write file", exc) from None


@activity("file.append")
def file_append(params: dict[str, Any], ctx: Context) -> None:
    path = _path(params)
    content = _content(params)
    encoding = _encoding(params)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding=encoding) as fh:
            fh.write(content)
    except UnicodeEncodeError as exc:
        raise ActivityError(f"cannot write the content as {encoding}: {exc.reason}") from None
    except OSError as exc:
        raise _os_error("append to file", exc) from None


def _target(params: dict[str, Any]) -> tuple[Path, Path]:
    source = _path(params, "source")
    destination = _path(params, "destination")
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


def _copy(source: Path, destination: Path, ctx: Context) -> None:
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


@activity("file.copy")
def file_copy(params: dict[str, Any], ctx: Context) -> str:
    source, destination = _target(params)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        _copy(source, destination, ctx)
    except OSError as exc:
        raise _os_error("copy file", exc) from None
    return str(destination)


@activity("file.move")
def file_move(params: dict[str, Any], ctx: Context) -> str:
    source, destination = _target(params)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, destination)
        except OSError:  # another file system: copy, then delete
            _copy(source, destination, ctx)
            source.unlink()
    except OSError as exc:
        raise _os_error("move file", exc) from None
    return str(destination)


@activity("file.delete")
def file_delete(params: dict[str, Any], ctx: Context) -> None:
    path = _path(params)
    if path.is_dir():
        raise ActivityError(f"is a folder, not a file (use folder.delete): {path}")
    try:
        path.unlink(missing_ok=boolean(params, "missing_ok"))
    except FileNotFoundError:
        raise ActivityError(f"file does not exist: {path}") from None
    except OSError as exc:
        raise _os_error("delete file", exc) from None


@activity("file.exists")
def file_exists(params: dict[str, Any], ctx: Context) -> bool:
    path = _path(params)
    return path.is_file() or (boolean(params, "folders") and path.is_dir())


@activity("folder.create")
def folder_create(params: dict[str, Any], ctx: Context) -> str:
    path = _path(params)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ActivityError(f"a file with that name exists: {path}") from None
    except OSError as exc:
        raise _os_error("create folder", exc) from None
    return str(path)


@activity("folder.list")
def folder_list(params: dict[str, Any], ctx: Context) -> list[str]:
    path = _path(params)
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
    path = _path(params)
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
        raise _os_error("delete folder", exc) from None


@activity("zip.compress")
def zip_compress(params: dict[str, Any], ctx: Context) -> str:
    source = _path(params, "source")
    destination = _path(params, "destination")
    if not source.exists():
        raise ActivityError(f"source does not exist: {source}")
    if destination.exists() and not boolean(params, "overwrite", True):
        raise ActivityError(f"destination exists and overwrite is false: {destination}")
    dest_abs = destination.resolve()
    partial = destination.with_name(f".{destination.name}.exekra-partial")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            if source.is_file():
                zf.write(source, source.name)
            else:
                for entry in sorted(source.rglob("*")):
                    ctx.check()
                    if entry.resolve() in (dest_abs, partial.resolve()):
                        continue  # the archive itself, when written inside the source folder
                    zf.write(entry, entry.relative_to(source).as_posix())
        os.replace(partial, destination)
    except OSError as exc:
        raise _os_error("create ZIP", exc) from None
    finally:
        partial.unlink(missing_ok=True)
    return str(destination)


def _safe_member(destination: Path, name: str) -> Path:
    """Where an archive entry lands; refuses entries that would escape ``destination``."""
    normalised = name.replace("\\", "/")
    pure = PurePosixPath(normalised)
    target = (destination / pure).resolve()
    if (
        pure.is_absolute()
        or (len(normalised) > 1 and normalised[1] == ":")  # C:/... on Windows archives
        or ".." in pure.parts
        or not target.is_relative_to(destination)
    ):
        raise ActivityError(
            f"refusing to extract: entry {name!r} would be written outside {destination} "
            "(zip-slip); nothing was extracted"
        )
    return target


@activity("zip.extract")
def zip_extract(params: dict[str, Any], ctx: Context) -> list[str]:
    source = _path(params, "source")
    destination = _path(params, "destination").resolve()
    overwrite = boolean(params, "overwrite", True)
    try:
        with zipfile.ZipFile(source) as zf:
            members = zf.infolist()
            targets = [(m, _safe_member(destination, m.filename)) for m in members]
            for info, target in targets:
                if info.external_attr >> 16 & 0o170000 == 0o120000:
                    raise ActivityError(
                        f"refusing to extract: entry {info.filename!r} is a symbolic link"
                    )
                if not overwrite and not info.is_dir() and target.exists():
                    raise ActivityError(
                        f"file exists and overwrite is false: {target}; nothing was extracted"
                    )
            destination.mkdir(parents=True, exist_ok=True)
            written = []
            for info, target in targets:
                ctx.check()
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, COPY_CHUNK)
                written.append(str(target))
    except zipfile.BadZipFile as exc:
        raise ActivityError(f"not a valid ZIP archive: {source} ({exc})") from None
    except OSError as exc:
        raise _os_error("extract ZIP", exc) from None
    return written
