"""CSV files (the standard library's :mod:`csv`) and lists of row objects: filter, sort,
group, select columns."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows.catalog.tables import AGGREGATES, CSV_WRITE_MODES, DIALECTS
from workflows.expressions import ExpressionError, evaluate, format_value, is_identifier

from . import _fs as fs
from .base import ActivityError, Context, activity, boolean, text, variable_name

_NUMBER = re.compile(r"^[+-]?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$")
SNIFF_BYTES = 64 * 1024


# ---------------------------------------------------------------------------------------------
# CSV


def _dialect_kwargs(params: dict[str, Any], sample: str | None = None) -> dict[str, Any]:
    name = text(params, "dialect", "excel")
    if name not in DIALECTS:
        raise ActivityError(f"param 'dialect' must be one of {', '.join(DIALECTS)}, got {name!r}")
    kwargs: dict[str, Any] = {}
    if name == "auto":
        if sample is None:
            name = "excel"
        else:
            try:
                kwargs["dialect"] = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                kwargs["dialect"] = "excel"  # one column, or nothing to go by
    if "dialect" not in kwargs:
        kwargs["dialect"] = name
    for param in ("delimiter", "quotechar"):
        value = params.get(param)
        if value in (None, ""):
            continue
        value = text(params, param).replace("\\t", "\t")
        if len(value) != 1:
            raise ActivityError(f"param {param!r} must be one character, got {value!r}")
        kwargs[param] = value
    return kwargs


def _number(value: str) -> Any:
    """Numeric text as a number; text with leading zeros (``0612``) stays text."""
    if not _NUMBER.match(value):
        return value
    number = float(value)
    return int(number) if "." not in value and "e" not in value.lower() else number


@activity("csv.read")
def csv_read(params: dict[str, Any], ctx: Context) -> list[Any]:
    path = fs.path(params)
    encoding = fs.encoding(params) if params.get("encoding") else "utf-8-sig"
    try:
        with path.open(encoding=encoding, newline="") as fh:
            content = fh.read()
    except UnicodeDecodeError as exc:
        raise ActivityError(
            f"cannot read {path} as {encoding}: {exc.reason} (set 'encoding', e.g. cp1252)"
        ) from None
    except OSError as exc:
        raise fs.os_error("read CSV file", exc) from None
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        content = content.removeprefix("\ufeff")
    kwargs = _dialect_kwargs(params, content[:SNIFF_BYTES])
    try:
        records = list(csv.reader(io.StringIO(content), **kwargs))
    except csv.Error as exc:
        raise ActivityError(f"cannot parse {path} as CSV: {exc}") from None
    if boolean(params, "skip_blank", True):
        records = [r for r in records if any(cell.strip() for cell in r)]
    convert = boolean(params, "numbers")
    if convert:
        records = [[_number(c) for c in r] for r in records]
    if not boolean(params, "header", True):
        return records
    if not records:
        return []
    keys = column_keys([str(h) for h in records[0]], trim=boolean(params, "trim_header"))
    rows = []
    for record in records[1:]:
        row = {k: (record[i] if i < len(record) else None) for i, k in enumerate(keys)}
        for extra, value in enumerate(record[len(keys) :], start=len(keys) + 1):
            row[f"column_{extra}"] = value
        rows.append(row)
    return rows


def column_keys(
    names: list[str], *, trim: bool = True, blank: Callable[[int], str] | None = None
) -> list[str]:
    """Header texts as row keys (``trim``: stripped): a blank one is ``column_N`` (or
    ``blank(N)``, N counted from 1), a repeat gets ``_2``, ``_3``. Also word.read_tables's
    and the Excel activities'."""
    keys: list[str] = []
    for i, name in enumerate(names, start=1):
        key = name.strip() if trim else name
        if not key.strip():
            key = blank(i) if blank is not None else f"column_{i}"
        base, n = key, 1
        while key in keys:
            n += 1
            key = f"{base}_{n}"
        keys.append(key)
    return keys


def rows_param(params: dict[str, Any], name: str = "rows") -> list[Any]:
    rows = params.get(name)
    if rows is None:
        raise ActivityError(f"param {name!r} is required")
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list | tuple):
        raise ActivityError(f"param {name!r} must be a list of rows, got {type(rows).__name__}")
    return list(rows)


def object_rows(params: dict[str, Any], name: str = "rows") -> list[dict[str, Any]]:
    rows = rows_param(params, name)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ActivityError(
                f"{name}[{i}] must be an object (a row with named fields), got "
                f"{type(row).__name__}: {format_value(row)[:60]}"
            )
    return rows


def _cell_text(value: Any, escape: bool) -> str:
    out = format_value(value)
    if escape and out[:1] in ("=", "+", "-", "@") and not _NUMBER.match(out):
        out = "'" + out
    return out


@activity("csv.write")
def csv_write(params: dict[str, Any], ctx: Context) -> int:
    path = fs.path(params)
    rows = rows_param(params)
    encoding = fs.encoding(params)
    mode = text(params, "mode", "replace")
    if mode not in CSV_WRITE_MODES:
        raise ActivityError(
            f"param 'mode' must be one of {', '.join(CSV_WRITE_MODES)}, got {mode!r}"
        )
    for i, row in enumerate(rows):
        if not isinstance(row, dict | list | tuple):
            raise ActivityError(f"rows[{i}] must be an object or a list, got {type(row).__name__}")
    kwargs = _dialect_kwargs(params)
    columns = params.get("columns")
    if columns in (None, "", []):
        keys: list[str] = []
        for row in rows:
            if isinstance(row, dict):
                keys.extend(str(k) for k in row if str(k) not in keys)
    elif isinstance(columns, list | tuple):
        keys = [str(c) for c in columns]
    else:
        raise ActivityError("param 'columns' must be a list of column names")
    escape = boolean(params, "escape_formulas")
    appending = mode == "append" and path.is_file() and path.stat().st_size > 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, **kwargs)
    if boolean(params, "header", True) and keys and not appending:
        writer.writerow(keys)
    for row in rows:
        cells = [row.get(k) for k in keys] if isinstance(row, dict) else list(row)
        writer.writerow([_cell_text(c, escape) for c in cells])
    data = buffer.getvalue()
    try:
        encoded = data.encode(encoding)
        if appending and encoding.lower().replace("_", "-") == "utf-8-sig":
            encoded = encoded.removeprefix("\ufeff".encode())
    except UnicodeEncodeError as exc:
        raise ActivityError(f"cannot write the rows as {encoding}: {exc.reason}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if appending:
            with path.open("ab") as fh:
                fh.write(encoded)
        else:
            _atomic_write(path, encoded)
    except OSError as exc:
        raise fs.os_error("write CSV file", exc) from None
    return len(rows)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Tables


@activity("table.filter")
def table_filter(params: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    rows = object_rows(params)
    condition = params.get("condition")
    if not isinstance(condition, str) or not condition.strip():
        raise ActivityError("param 'condition' is required")
    name = variable_name(params, "row", required=False) or "row"
    kept = []
    for i, row in enumerate(rows):
        scope = dict(ctx.variables)
        scope.update({k: v for k, v in row.items() if is_identifier(k)})
        scope[name] = row
        try:
            if evaluate(condition, scope):
                kept.append(row)
        except ExpressionError as exc:
            if "NoneType" in str(exc):  # a null field compared with a value: no match
                continue
            raise ActivityError(f"condition {condition!r} on rows[{i}]: {exc}") from None
    return kept


def _columns(params: dict[str, Any], name: str) -> list[str]:
    value = params.get(name)
    if isinstance(value, str) and value.strip():
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ActivityError(f"param {name!r} must be a list of column names")
    return [str(v) for v in value]


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers (and booleans) first, then text; missing and null last (even descending)."""
    if value is None:
        return (2, 0)
    if isinstance(value, bool | int | float):
        return (0, value)
    return (1, format_value(value).casefold())


def _by(column: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda row: _sort_key(row.get(column))


@activity("table.sort")
def table_sort(params: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    rows = object_rows(params)
    by = _columns(params, "by")
    ordered = list(rows)
    for spec in reversed(by):  # stable sorts, last key first
        descending = spec.startswith("-") and len(spec) > 1
        column = spec[1:] if descending else spec
        present = [r for r in ordered if r.get(column) is not None]
        missing = [r for r in ordered if r.get(column) is None]
        present.sort(key=_by(column), reverse=descending)
        ordered = present + missing
    return ordered


@dataclass(frozen=True)
class ValueSpec:
    column: str
    function: str
    name: str


def value_specs(values: Any) -> list[ValueSpec]:
    """``{column: function}`` or ``[{column, function, name}]`` as specs."""
    if values in (None, "", [], {}):
        return []
    items: Iterable[tuple[Any, Any, Any]]
    if isinstance(values, dict):
        items = [(c, f, None) for c, f in values.items()]
    elif isinstance(values, list | tuple) and all(isinstance(v, dict) for v in values):
        items = [(v.get("column"), v.get("function"), v.get("name")) for v in values]
    else:
        raise ActivityError(
            "param 'values' must be an object {column: function} or a list of "
            "{column, function, name}"
        )
    specs = []
    for column, function, name in items:
        if not isinstance(column, str) or not column:
            raise ActivityError("values: every entry needs a column name")
        if function not in AGGREGATES:
            raise ActivityError(
                f"values: function for {column!r} must be one of {', '.join(AGGREGATES)}, "
                f"got {function!r}"
            )
        specs.append(ValueSpec(column, function, str(name or f"{column}_{function}")))
    return specs


def _as_number(value: Any) -> float | int | None:
    """A number from a cell value: numbers as they are, numeric text parsed; else None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return None
    return None


def _aggregate(function: str, column: str, values: list[Any]) -> Any:
    present = [v for v in values if v not in (None, "")]
    if function == "count":
        return len(present)
    numbers = [_as_number(v) for v in present]
    if any(n is None for n in numbers):
        if function in ("min", "max"):  # a text column: alphabetical
            pick = min if function == "min" else max
            return pick(present, key=lambda v: format_value(v).casefold())
        bad = present[numbers.index(None)]
        raise ActivityError(f"cannot {function} column {column!r}: {bad!r} is not a number")
    nums = [n for n in numbers if n is not None]
    if function == "sum":
        return _tidy(sum(nums))
    if not nums:
        return None
    if function == "avg":
        return _tidy(sum(nums) / len(nums))
    return _tidy(min(nums) if function == "min" else max(nums))


def _tidy(number: Any) -> Any:
    if isinstance(number, float):
        number = round(number, 10)
        if number.is_integer():
            return int(number)
    return number


def aggregate(
    rows: list[dict[str, Any]], by: list[str], specs: list[ValueSpec]
) -> list[dict[str, Any]]:
    """One row per group (in order of first appearance) with the group's keys and values."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        key = tuple(_hashable(row.get(c)) for c in by)
        groups.setdefault(key, []).append(row)
    out = []
    for members in groups.values():
        summary = {c: members[0].get(c) for c in by}
        for spec in specs:
            summary[spec.name] = _aggregate(
                spec.function, spec.column, [m.get(spec.column) for m in members]
            )
        out.append(summary)
    return out


def _hashable(value: Any) -> Any:
    return format_value(value) if isinstance(value, dict | list) else value


@activity("table.group")
def table_group(params: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    rows = object_rows(params)
    by = _columns(params, "by")
    specs = value_specs(params.get("values"))
    if specs:
        return aggregate(rows, by, specs)
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(_hashable(row.get(c)) for c in by)
        if key not in groups:
            groups[key] = {**{c: row.get(c) for c in by}, "rows": []}
        groups[key]["rows"].append(row)
    return list(groups.values())


@activity("table.columns")
def table_columns(params: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    rows = object_rows(params)
    columns = params.get("columns")
    if isinstance(columns, dict) and columns:
        mapping = {str(k): str(v) for k, v in columns.items()}
    elif isinstance(columns, list | tuple) and columns:
        mapping = {str(c): str(c) for c in columns}
    else:
        raise ActivityError("param 'columns' must be a list of names or an object {old: new}")
    return [{new: row.get(old) for old, new in mapping.items()} for row in rows]
