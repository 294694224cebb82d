"""ZIP archives: compress a file or folder, extract (refusing zip-slip and symlink entries
before anything is written)."""

from __future__ import annotations

import os
import shutil
import tempfile
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


#: entries up to this size are not held to the compression-ratio limit (a small file of zeros
#: legitimately compresses 1000:1; only large ones make a bomb)
ZIP_RATIO_MIN_BYTES = 1 << 20


def _check_bomb(members: list[zipfile.ZipInfo], source: Path, ctx: Context) -> None:
    """Refuse an archive whose declared sizes exceed the runner's limits, before writing."""
    limit, max_ratio = ctx.policy.zip_max_extract_bytes, ctx.policy.zip_max_ratio
    total = 0
    for info in members:
        total += info.file_size
        if total > limit:
            raise ActivityError(
                f"refusing to extract {source}: it would unpack to more than "
                f"{_size(limit)} (the runner's zip_max_extract_mb); nothing was extracted"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_RATIO_MIN_BYTES and ratio > max_ratio:
            raise ActivityError(
                f"refusing to extract {source}: entry {info.filename!r} expands {ratio:,.0f}:1 "
                f"({_size(info.compress_size)} to {_size(info.file_size)}), above the runner's "
                f"zip_max_ratio of {max_ratio:g}:1 (a zip bomb?); nothing was extracted"
            )


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"


def _copy_limited(src: Any, dst: Any, budget: int, name: str, source: Path, ctx: Context) -> int:
    """Copy one entry, counting the bytes actually produced (headers can lie)."""
    written = 0
    while chunk := src.read(fs.COPY_CHUNK):
        ctx.check()
        written += len(chunk)
        if written > budget:
            raise ActivityError(
                f"refusing to extract {source}: entry {name!r} unpacks to more than its "
                "archive declares, past the runner's zip_max_extract_mb; nothing was extracted"
            )
        dst.write(chunk)
    return written


@activity("zip.extract")
def zip_extract(params: dict[str, Any], ctx: Context) -> list[str]:
    """Extract into a staging folder beside the destination, then move the files into place:
    a refused or failed archive (zip-slip, symlink, bomb, stop request) leaves nothing behind."""
    source = fs.path(params, "source")
    destination = fs.path(params, "destination").resolve()
    overwrite = boolean(params, "overwrite", True)
    created = _first_missing(destination)
    staging: Path | None = None
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
            _check_bomb(members, source, ctx)
            destination.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(
                tempfile.mkdtemp(
                    prefix=f".{destination.name}.exekra-extract-", dir=destination.parent
                )
            )
            budget = ctx.policy.zip_max_extract_bytes
            staged: list[tuple[Path, Path]] = []
            for index, (info, target) in enumerate(targets):
                ctx.check()
                if info.is_dir():
                    continue
                part = staging / str(index)
                with zf.open(info) as src, part.open("wb") as dst:
                    budget -= _copy_limited(src, dst, budget, info.filename, source, ctx)
                staged.append((part, target))
        destination.mkdir(parents=True, exist_ok=True)
        for info, target in targets:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
        written = []
        for part, target in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            written.append(str(target))
    except BaseException as exc:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        if isinstance(exc, zipfile.BadZipFile):
            raise ActivityError(f"not a valid ZIP archive: {source} ({exc})") from None
        if isinstance(exc, OSError):
            raise fs.os_error("extract ZIP", exc) from None
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return written


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (removed again on failure)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing
