"""One settings loader for every Exekra process: defaults < a JSON file < the environment.

A process's settings are a dataclass whose fields are declared with :func:`setting`: the
default, what the setting means — the one place it is written down; the README's tables are
checked against it (``tests/test_docs.py``) — and how the README shows the default.
:func:`load` builds one from, in order,

1. the defaults;
2. the JSON object in ``<data folder>/<file name>`` (if the file exists): a key that is not a
   setting is refused, naming it;
3. the environment: ``<prefix>`` + the name in upper case (``EXEKRA_`` + ``port``);
4. the caller's overrides (command-line options; tests), when not None.

Every value, whichever source it comes from, is converted the same way: text to ``int``,
``float`` and ``bool`` (``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``), JSON
numbers to the field's number type, and a leading ``~`` of a path setting to the home folder;
anything that does not fit is refused with the setting's name and where the value came from.
The data folder itself comes from the argument, ``<prefix>DATA_DIR`` or the default (it holds
the file, so the file cannot move it).

The hub and the runner may share only this package, so their loaders are this one: both call
:func:`load` with their own settings class, prefix, file name and error class. Pure: the file and
the environment are read when :func:`load` is called, never at import.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

import msgspec

T = TypeVar("T")
_META = "exekra.setting"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_KINDS = {bool: "boolean (true/false, yes/no, on/off, 1/0)", int: "integer", float: "number"}


class SettingsError(Exception):
    """A setting is unknown or malformed; the message names it and says where it came from."""


@dataclass(frozen=True)
class Setting:
    """What one declared setting is: its name, type, default and documentation."""

    name: str
    type: type
    default: Any
    meaning: str
    #: the default as the README shows it (Markdown), when the value alone would not say it
    shown: str | None = None
    #: a file or folder: a leading ``~`` is the home folder
    path: bool = False


@dataclass(frozen=True)
class _Doc:
    meaning: str
    shown: str | None
    path: bool


@overload
def setting(default: T, meaning: str, *, shown: str | None = None, path: bool = False) -> T: ...


@overload
def setting(
    *, factory: Callable[[], T], meaning: str, shown: str | None = None, path: bool = False
) -> T: ...


def setting(
    default: Any = dataclasses.MISSING,
    meaning: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    shown: str | None = None,
    path: bool = False,
) -> Any:
    """A settings field: ``port: int = setting(5000, "where waitress listens")``."""
    if not meaning:
        raise TypeError("a setting says what it means")
    metadata = {_META: _Doc(meaning, shown, path)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def describe(cls: type) -> list[Setting]:
    """The settings ``cls`` declares, in declaration order (every field must be a setting)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        doc = f.metadata.get(_META)
        if not isinstance(doc, _Doc):
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with setting()")
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = f.default
        out.append(Setting(f.name, hints[f.name], default, doc.meaning, doc.shown, doc.path))
    return out


def convert(item: Setting, raw: Any, source: str, error: type[SettingsError]) -> Any:
    """``raw`` as a value of ``item``'s type, or ``error`` naming the setting and ``source``."""
    value = raw
    if isinstance(raw, str) and item.type in _KINDS:
        value = raw.strip()
        if item.type is bool and value.lower() in _TRUE + _FALSE:
            value = value.lower() in _TRUE
    try:
        if isinstance(value, str) and item.type in (int, float):
            value = item.type(value)  # Python reads numbers as both loaders did ("05", "1_000")
        else:
            value = msgspec.convert(value, item.type, strict=False)
    except (msgspec.ValidationError, ValueError):
        kind = _KINDS.get(item.type, "text")
        raise error(f"{source}: setting {item.name!r}: {raw!r} is not a valid {kind}") from None
    if item.path and value:
        value = str(Path(value).expanduser())
    return value


def _unknown(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f"unknown setting {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _read_file(path: Path, error: type[SettingsError]) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(values, dict):
        raise error(f"{path} must hold a JSON object")
    return values


def load(
    cls: type[T],
    *,
    prefix: str,
    file_name: str,
    data_dir: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    error: type[SettingsError] = SettingsError,
    retired: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> T:
    """``cls`` from its defaults, ``<data_dir>/<file_name>``, ``<prefix>*`` and ``overrides``.

    ``cls`` has a ``data_dir`` setting. ``retired`` are keys that settings files written by an
    earlier version may still hold: accepted and ignored, so an upgrade does not refuse them.
    """
    env = os.environ if environ is None else environ
    items = {item.name: item for item in describe(cls)}
    chosen = data_dir or env.get(prefix + "DATA_DIR") or items["data_dir"].default
    values: dict[str, Any] = {"data_dir": str(Path(chosen).expanduser())}
    path = Path(values["data_dir"]) / file_name
    ignored = {"data_dir", *retired}  # the folder holds the file: the file cannot move it
    for key, raw in _read_file(path, error).items():
        if key not in items and key not in ignored:
            raise error(f"{path}: {_unknown(key, items)}")
        if key not in ignored:
            values[key] = convert(items[key], raw, str(path), error)
    for name, item in items.items():
        var = prefix + name.upper()
        if name != "data_dir" and var in env:
            values[name] = convert(item, env[var], var, error)
    for key, raw in (overrides or {}).items():
        if key not in items:
            raise error(_unknown(key, items))
        if raw is not None:
            values[key] = convert(items[key], raw, "option", error)
    return cls(**values)
