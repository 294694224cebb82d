"""Excel: workbooks read and written with openpyxl (.xlsx/.xlsm), legacy .xls read with xlrd.

Every activity names its workbook by ``path``. Cell values leave as JSON-friendly values:
numbers and booleans as they are, dates and times as ISO 8601 text; a row of text that looks
like an ISO date is stored as a real date again when written (see the catalog module).
Workbooks are saved atomically (a temporary file beside the target, then a rename), so a
failure never leaves half a workbook behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from workflows.catalog.excel import WRITE_MODES

from . import _fs as fs
from .base import ActivityError, Context, activity, boolean, text

#: what openpyxl opens; .xls goes to xlrd (read only)
OPENPYXL_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
LEGACY_SUFFIX = ".xls"

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
_ZERO_PADDED = re.compile(r"^0+$")


# ---------------------------------------------------------------------------------------------
# Values


def plain(value: Any, number_format: str = "General", *, as_text: bool = False) -> Any:
    """A cell value as something JSON carries: dates and times as ISO text; with ``as_text``
    everything as the text a person sees (``612345678`` with format ``0000000000`` →
    ``"0612345678"``, ``5.0`` → ``"5"``)."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and not _has_time_part(number_format):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds" if not value.microsecond else "microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if not as_text or value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        digits = str(value)
        if _ZERO_PADDED.match(number_format or ""):
            digits = digits.zfill(len(number_format))
        return digits
    return str(value)


def _has_time_part(number_format: str) -> bool:
    lowered = re.sub(r'"[^"]*"|\[[^\]]*\]', "", (number_format or "").lower())
    return "h" in lowered or "s" in lowered


def cell_value(value: Any, *, parse_dates: bool) -> Any:
    """A workflow value as what a cell should hold."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dt.date | dt.time):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    value = str(value)
    if parse_dates:
        try:
            if _ISO_DATE.match(value):
                return dt.date.fromisoformat(value)
            if _ISO_DATETIME.match(value):
                return dt.datetime.fromisoformat(value)
        except ValueError:  # 2024-13-45: looks like a date, is not one — keep the text
            return value
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def set_cell(ws: Worksheet, row: int, column: int, value: Any, *, formulas: bool) -> None:
    """Write one cell; text starting with ``=`` stays text unless ``formulas``."""
    cell = ws.cell(row=row, column=column, value=value)
    if not formulas and isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"


# ---------------------------------------------------------------------------------------------
# Workbooks


def book_path(params: dict[str, Any], *, must_exist: bool = True) -> Path:
    path = fs.path(params)
    if path.suffix.lower() not in (*OPENPYXL_SUFFIXES, LEGACY_SUFFIX):
        raise ActivityError(f"not an Excel workbook name (use .xlsx, .xlsm or .xls): {path}")
    if must_exist and not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ActivityError(f"workbook {what}: {path}")
    return path


def _refuse_legacy_write(path: Path) -> None:
    if path.suffix.lower() == LEGACY_SUFFIX:
        raise ActivityError(
            f"cannot write the legacy .xls format: {path} (save it as .xlsx, or write to a "
            ".xlsx file)"
        )


def load(path: Path, *, data_only: bool = False, read_only: bool = False) -> Any:
    """An openpyxl workbook, with clear errors for a file that is not one."""
    try:
        return load_workbook(
            path,
            data_only=data_only,
            read_only=read_only,
            keep_vba=path.suffix.lower() in (".xlsm", ".xltm") and not read_only,
        )
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
        raise ActivityError(f"not a valid Excel workbook: {path} ({exc})") from None
    except OSError as exc:
        raise fs.os_error("open workbook", exc) from None


def save(wb: Any, path: Path) -> None:
    """Save atomically: a temporary file in the same folder, then a rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        wb.save(tmp)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except PermissionError as exc:
        raise ActivityError(
            f"cannot save workbook {path}: {exc.strerror} (is it open in another program?)"
        ) from None
    except OSError as exc:
        raise fs.os_error("save workbook", exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def worksheet(wb: Any, name: str | None, path: Path, *, create: bool = False) -> Worksheet:
    if name is None:
        return wb.worksheets[0]
    if name in wb.sheetnames:
        ws: Worksheet = wb[name]
        return ws
    if create:
        return wb.create_sheet(name)
    raise ActivityError(unknown_sheet(name, wb.sheetnames, path))


def unknown_sheet(name: str, sheets: Sequence[str], path: Path) -> str:
    return f"workbook {path.name} has no sheet {name!r} (sheets: {', '.join(sheets)})"


def sheet_param(params: dict[str, Any]) -> str | None:
    value = params.get("sheet")
    if value in (None, ""):
        return None
    return text(params, "sheet")


@contextmanager
def editing(path: Path, *, create: bool = False) -> Iterator[Any]:
    """Open a workbook for changes and save it when the block ends without an error."""
    _refuse_legacy_write(path)
    if path.is_file():
        wb = load(path)
    elif create:
        if path.suffix.lower() != ".xlsx":
            raise ActivityError(f"a new workbook must be a .xlsx file: {path}")
        wb = Workbook()
    else:
        raise ActivityError(f"workbook does not exist: {path}")
    yield wb
    save(wb, path)


# ---------------------------------------------------------------------------------------------
# Reading rows


Grid = list[list[Any]]
#: a cell as read: its Python value (datetime, number, text, ...) and its number format
Raw = tuple[Any, str]


def _xls_rows(path: Path, sheet: str | None) -> tuple[str, list[list[Raw]]]:
    """Cells of a legacy .xls sheet through xlrd (dates decoded with the book's date mode,
    whole numbers as integers: .xls stores every number as a float)."""
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except xlrd.XLRDError as exc:
        raise ActivityError(f"not a valid Excel workbook: {path} ({exc})") from None
    except OSError as exc:
        raise fs.os_error("open workbook", exc) from None
    try:
        names = book.sheet_names()
        if sheet is not None and sheet not in names:
            raise ActivityError(unknown_sheet(sheet, names, path))
        sh = book.sheet_by_name(sheet) if sheet is not None else book.sheet_by_index(0)
        rows = [
            [(_xls_value(sh.cell(r, c), book.datemode), "General") for c in range(sh.ncols)]
            for r in range(sh.nrows)
        ]
        return sh.name, rows
    finally:
        book.release_resources()


def _xls_value(cell: Any, datemode: int) -> Any:
    import xlrd

    kind, value = cell.ctype, cell.value
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if kind == xlrd.XL_CELL_DATE:
        return xlrd.xldate.xldate_as_datetime(value, datemode)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "#ERROR")
    if kind == xlrd.XL_CELL_NUMBER:
        return int(value) if float(value).is_integer() else value
    return value


def raw_rows(path: Path, sheet: str | None) -> tuple[str, list[list[Raw]]]:
    """The cells of a sheet with their number formats (formulas as last calculated)."""
    if path.suffix.lower() == LEGACY_SUFFIX:
        return _xls_rows(path, sheet)
    wb = load(path, data_only=True, read_only=True)
    try:
        ws = worksheet(wb, sheet, path)
        rows = [
            [(c.value, getattr(c, "number_format", None) or "General") for c in row]
            for row in ws.iter_rows()
        ]
        return ws.title, rows
    finally:
        wb.close()


def to_grid(rows: list[list[Raw]], text_columns: set[int] | None = None) -> Grid:
    """Plain values, trailing blank cells and rows trimmed."""
    grid = [
        [
            plain(v, f, as_text=bool(text_columns and i in text_columns))
            for i, (v, f) in enumerate(r)
        ]
        for r in rows
    ]
    for row in grid:
        while row and row[-1] in (None, ""):
            row.pop()
    while grid and not grid[-1]:
        grid.pop()
    return grid


def header_keys(row: Sequence[Any], width: int, *, trim: bool) -> list[str]:
    """Keys from a header row: as written (or trimmed), blanks → column letter, repeats → _2."""
    keys: list[str] = []
    seen: dict[str, int] = {}
    for i in range(width):
        raw = row[i] if i < len(row) else None
        name = "" if raw is None else str(raw)
        if trim:
            name = name.strip()
        if name.strip() == "":
            name = get_column_letter(i + 1)
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        keys.append(name)
    return keys


def column_indexes(names: Any, keys: Sequence[str], param: str) -> set[int] | None:
    """0-based indexes of columns named by header key or by letter (``C``)."""
    if names in (None, "", []):
        return None
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | tuple):
        raise ActivityError(f"param {param!r} must be a list of column names")
    indexes: set[int] = set()
    for name in (str(n) for n in names):
        if name in keys:
            indexes.add(list(keys).index(name))
        elif re.fullmatch(r"[A-Z]{1,3}", name):
            indexes.add(column_index_from_string(name) - 1)
        else:
            raise ActivityError(
                f"{param}: no column {name!r} (columns: {', '.join(keys) or 'none'})"
            )
    return indexes


def table(
    rows: list[list[Raw]], *, header: bool, trim: bool, text_columns: Any = None
) -> list[dict[str, Any]]:
    """Row objects from a sheet's cells; fully blank rows are skipped."""
    grid = to_grid(rows)
    width = max((len(r) for r in grid), default=0)
    if header:
        keys = header_keys(grid[0] if grid else [], width, trim=trim)
    else:
        keys = [get_column_letter(i + 1) for i in range(width)]
    as_text = column_indexes(text_columns, keys, "text_columns")
    if as_text:
        grid = to_grid(rows, as_text)
    body = grid[1:] if header else grid
    return [
        {k: (row[i] if i < len(row) else None) for i, k in enumerate(keys)}
        for row in body
        if any(v not in (None, "") for v in row)
    ]


@activity("excel.read_table")
def read_table(params: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    path = book_path(params)
    sheet = sheet_param(params)
    header = boolean(params, "header", True)
    trim = boolean(params, "trim_header")
    _, rows = raw_rows(path, sheet)
    return table(rows, header=header, trim=trim, text_columns=params.get("text_columns"))


# ---------------------------------------------------------------------------------------------
# Writing rows


def last_used_row(ws: Worksheet) -> int:
    """The last row holding a value (0 for an empty sheet); formatting alone does not count."""
    for r in range(ws.max_row, 0, -1):
        if any(c.value not in (None, "") for c in ws[r]):
            return r
    return 0


def _rows_param(params: dict[str, Any]) -> list[Any]:
    rows = params.get("rows")
    if rows is None:
        raise ActivityError("param 'rows' is required")
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list | tuple):
        raise ActivityError(f"param 'rows' must be a list of rows, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict | list | tuple):
            raise ActivityError(
                f"rows[{i}] must be an object or a list, got {type(row).__name__}: {row!r:.60}"
            )
    return list(rows)


def _columns_param(params: dict[str, Any]) -> list[str] | None:
    value = params.get("columns")
    if value in (None, "", []):
        return None
    if not isinstance(value, list | tuple):
        raise ActivityError("param 'columns' must be a list of column names")
    return [str(v) for v in value]


def write_rows(
    ws: Worksheet,
    rows: list[Any],
    *,
    header: bool,
    append: bool,
    columns: list[str] | None,
    parse_dates: bool,
    formulas: bool,
) -> int:
    """Write rows into a worksheet (see ``excel.write_table``); returns how many."""
    if not append and ws.max_row:
        ws.delete_rows(1, ws.max_row)
    last = last_used_row(ws) if append else 0
    existing = [c.value for c in ws[1]] if last and header else []
    keys: list[str] = [str(k) for k in existing if k not in (None, "")]
    for col in columns or []:
        if col not in keys:
            keys.append(col)
    if columns is None:
        for row in rows:
            if isinstance(row, dict):
                keys.extend(str(k) for k in row if str(k) not in keys)
    has_objects = any(isinstance(r, dict) for r in rows)
    next_row = last + 1
    if header and has_objects:
        if last == 0:
            for c, key in enumerate(keys, start=1):
                set_cell(ws, 1, c, key, formulas=False)
            next_row = 2
        else:  # new keys become new columns of the existing header
            for c, key in enumerate(keys, start=1):
                if c > len(existing) or existing[c - 1] in (None, ""):
                    set_cell(ws, 1, c, key, formulas=False)
    order = columns if columns is not None else keys
    index = {k: keys.index(k) + 1 for k in order}
    for row in rows:
        if isinstance(row, dict):
            items = [(index[k], row.get(k)) for k in order]
        else:
            items = list(enumerate(row, start=1))
        for c, value in items:
            set_cell(ws, next_row, c, cell_value(value, parse_dates=parse_dates), formulas=formulas)
        next_row += 1
    return len(rows)


@activity("excel.write_table")
def write_table(params: dict[str, Any], ctx: Context) -> int:
    path = book_path(params, must_exist=False)
    sheet = sheet_param(params)
    rows = _rows_param(params)
    mode = text(params, "mode", "replace")
    if mode not in WRITE_MODES:
        raise ActivityError(f"param 'mode' must be one of {', '.join(WRITE_MODES)}, got {mode!r}")
    columns = _columns_param(params)
    with editing(path, create=True) as wb:
        if not path.exists() and sheet is not None:
            wb.active.title = sheet
        ws = worksheet(wb, sheet, path, create=True)
        return write_rows(
            ws,
            rows,
            header=boolean(params, "header", True),
            append=mode == "append",
            columns=columns,
            parse_dates=boolean(params, "parse_dates", True),
            formulas=boolean(params, "formulas"),
        )
