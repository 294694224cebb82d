"""ZIP archives: compress a file or folder, extract (refusing zip-slip and symlink entries
before anything is written)."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from . import _fs as fs
from .base import ActivityError, Context, activity, boolean


@activity("zip.compress")
def zip_compress(params: dict[str, Any], ctx: Context) -> str:
    source = fs.path(params, "source")
    destination = fs.path(params, "destination")
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
        raise fs.os_error("create ZIP", exc) from None
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
    source = fs.path(params, "source")
    destination = fs.path(params, "destination").resolve()
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
                    shutil.copyfileobj(src, dst, fs.COPY_CHUNK)
                written.append(str(target))
    except zipfile.BadZipFile as exc:
        raise ActivityError(f"not a valid ZIP archive: {source} ({exc})") from None
    except OSError as exc:
        raise fs.os_error("extract ZIP", exc) from None
    return written
