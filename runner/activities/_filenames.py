"""Plain file names for names that come from outside — an e-mail attachment's, a download's
suggested name, an artifact's — and free paths for them in a folder.

Shared by ``email.save_attachments``, ``browser.download`` and the artifact folder of a local
run (``exekra runner execute``), so that all three refuse the same tricks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from pathlib import Path

from .base import ActivityError

#: replaced by ``_``: folder separators and what Windows refuses in a name
_UNSAFE = re.compile(r'[<>:"/\\|?*]')
#: dropped: invisible characters (bidi overrides that disguise ``.exe``, zero-width ones,
#: unassigned and private ones) and line or paragraph separators
_INVISIBLE = ("Cf", "Cn", "Co", "Cs", "Zl", "Zp")
#: names Windows keeps for devices, with or without an extension
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10))}
_RESERVED |= {f"LPT{i}" for i in range(1, 10)}
#: numbered names tried before :func:`unique_path` gives up
MAX_NUMBERED = 10000


def safe_name(name: str, fallback: str = "attachment", *, control: str = "_") -> str:
    """``name`` as a plain file name: no folder parts (``../``, ``C:\\``), no invisible or
    reserved characters, control characters replaced by ``control``, not hidden, no leading or
    trailing dots and spaces, at most 200 characters (the extension kept); ``fallback`` when
    nothing is left."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name)
    name = "".join(_visible(c, control) for c in name)
    name = re.sub(r"^[\s.]+|[\s.]+$", "", name)
    if not name:
        name = fallback
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.upper() in _RESERVED:
        stem = f"_{stem}"
    ext = f".{ext[:20]}" if ext else ""
    return stem[: 200 - len(ext)] + ext


def _visible(char: str, control: str) -> str:
    kind = unicodedata.category(char)
    return control if kind == "Cc" else "" if kind in _INVISIBLE else char


def unique_path(
    folder: Path,
    name: str,
    overwrite: bool = False,
    taken: Collection[Path] = (),
    *,
    first: int = 2,
) -> Path:
    """``folder / name``, or the first free ``name (n).ext`` from ``n = first`` on when that
    exists or is in ``taken`` (what the node itself wrote already); with ``overwrite`` an
    existing file is reused, unless the node wrote it."""
    target = folder / name
    if overwrite and target not in taken:
        return target
    stem, ext = Path(name).stem, Path(name).suffix
    for n in range(first, first + MAX_NUMBERED):
        if not (target.exists() or target in taken):
            return target
        target = folder / f"{stem} ({n}){ext}"
    raise ActivityError(f"too many files named like {folder / name}")
