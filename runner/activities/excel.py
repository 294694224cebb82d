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
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import coordinate_from_string, range_boundaries
from openpyxl.utils.exceptions import CellCoordinatesException, InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from workflows.catalog.excel import MACRO_ENGINES, WRITE_MODES

from . import _fs as fs
from . import _office as office
from .base import ActivityError, Context, activity, boolean, integer, number, text
from .tables import aggregate, column_keys, value_specs

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
        return wb.create_sheet(_valid_title(name))
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


@contextmanager
def _xls_book(path: Path) -> Iterator[Any]:
    """A legacy .xls workbook opened with xlrd (sheets loaded when asked for)."""
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except xlrd.XLRDError as exc:
        raise ActivityError(f"not a valid Excel workbook: {path} ({exc})") from None
    except OSError as exc:
        raise fs.os_error("open workbook", exc) from None
    try:
        yield book
    finally:
        book.release_resources()


def _xls_rows(path: Path, sheet: str | None) -> tuple[str, list[list[Raw]]]:
    with _xls_book(path) as book:
        names = book.sheet_names()
        if sheet is not None and sheet not in names:
            raise ActivityError(unknown_sheet(sheet, names, path))
        sh = book.sheet_by_name(sheet) if sheet is not None else book.sheet_by_index(0)
        return sh.name, _xls_cells(sh, book.datemode)


def _xls_cells(sh: Any, datemode: int) -> list[list[Raw]]:
    """Cells of a legacy .xls sheet (dates decoded with the book's date mode, whole numbers
    as integers: .xls stores every number as a float)."""
    return [
        [(_xls_value(sh.cell(r, c), datemode), "General") for c in range(sh.ncols)]
        for r in range(sh.nrows)
    ]


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


def column_indexes(
    names: Any, keys: Sequence[str], param: str, span: tuple[int, int] | None = None
) -> set[int] | None:
    """0-based indexes (within the rows read) of columns named by header key or by the
    sheet's letter (``C``); ``span``: the first and last sheet column read, when the rows
    are a range's, whose columns a letter must name."""
    if names in (None, "", []):
        return None
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | tuple):
        raise ActivityError(f"param {param!r} must be a list of column names")
    first, last = span or (1, None)
    indexes: set[int] = set()
    for name in (str(n) for n in names):
        if name in keys:
            indexes.add(list(keys).index(name))
        elif re.fullmatch(r"[A-Z]{1,3}", name):
            column = column_index_from_string(name)
            if column < first or last is not None and column > last:
                raise ActivityError(
                    f"{param}: column {name!r} is outside the range (columns "
                    f"{get_column_letter(first)} to {get_column_letter(last or first)})"
                )
            indexes.add(column - first)
        else:
            raise ActivityError(
                f"{param}: no column {name!r} (columns: {', '.join(keys) or 'none'})"
            )
    return indexes


def table(
    rows: list[list[Raw]],
    *,
    header: bool,
    trim: bool,
    text_columns: Any = None,
    span: tuple[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Row objects from a sheet's cells; fully blank rows are skipped. ``span``: the first
    and last sheet column of a range's cells (a blank header is named by its own letter)."""
    grid = to_grid(rows)
    width = max((len(r) for r in grid), default=0)
    offset = span[0] - 1 if span else 0
    if header:
        first = grid[0] if grid else []
        names = ["" if v is None else str(v) for v in first] + [""] * (width - len(first))
        keys = column_keys(names, trim=trim, blank=lambda i: get_column_letter(offset + i))
    else:
        keys = [get_column_letter(offset + i + 1) for i in range(width)]
    as_text = column_indexes(text_columns, keys, "text_columns", span)
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
    while existing and existing[-1] in (None, ""):
        existing.pop()
    # key -> column: the existing header's cells where they stand (a blank one names
    # nothing), then each new key in a new column after them
    index: dict[str, int] = {}
    for c, name in enumerate(existing, start=1):
        if name not in (None, ""):
            index.setdefault(str(name), c)
    wanted = list(columns or [])
    if columns is None:
        for row in rows:
            if isinstance(row, dict):
                wanted.extend(str(k) for k in row)
    new_keys: list[str] = []
    for key in wanted:
        if key not in index:
            new_keys.append(key)
            index[key] = len(existing) + len(new_keys)
    has_objects = any(isinstance(r, dict) for r in rows)
    next_row = last + 1
    if header and has_objects:
        for key in new_keys if last else index:
            set_cell(ws, 1, index[key], key, formulas=False)
        if last == 0:
            next_row = 2
    order = columns if columns is not None else list(index)
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
            wb.active.title = _valid_title(sheet)
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


# ---------------------------------------------------------------------------------------------
# Workbooks and sheets


@activity("excel.create")
def create(params: dict[str, Any], ctx: Context) -> None:
    path = book_path(params, must_exist=False)
    if path.suffix.lower() != ".xlsx":
        raise ActivityError(f"a new workbook must be a .xlsx file: {path}")
    if path.exists() and not boolean(params, "overwrite"):
        raise ActivityError(f"workbook exists and overwrite is false: {path}")
    names = params.get("sheets") or ["Sheet1"]
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) and n for n in names):
        raise ActivityError("param 'sheets' must be a list of sheet names")
    if len(set(names)) != len(names):
        raise ActivityError(f"sheet names repeat: {', '.join(names)}")
    wb = Workbook()
    wb.active.title = _valid_title(names[0])
    for name in names[1:]:
        wb.create_sheet(_valid_title(name))
    save(wb, path)


def _valid_title(name: str) -> str:
    bad = set(name) & set("\\/?*[]:")
    if bad or len(name) > 31 or not name.strip():
        raise ActivityError(
            f"invalid sheet name {name!r}: at most 31 characters, none of \\ / ? * [ ] :"
        )
    return name


@activity("excel.open")
def open_(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    path = book_path(params)
    if path.suffix.lower() == LEGACY_SUFFIX:
        sheets = []
        with _xls_book(path) as book:
            for i, name in enumerate(book.sheet_names()):
                grid = to_grid(_xls_cells(book.sheet_by_index(i), book.datemode))
                book.unload_sheet(i)  # one sheet's cells in memory at a time
                sheets.append({"name": name, "rows": len(grid), "columns": _width(grid)})
        return {"path": str(path), "format": "xls", "sheets": sheets}
    wb = load(path, data_only=True, read_only=True)
    try:
        sheets = []
        for ws in wb.worksheets:
            grid = to_grid([[(c.value, "General") for c in row] for row in ws.iter_rows()])
            sheets.append({"name": ws.title, "rows": len(grid), "columns": _width(grid)})
    finally:
        wb.close()
    return {"path": str(path), "format": path.suffix.lower().lstrip("."), "sheets": sheets}


def _width(grid: Grid) -> int:
    return max((len(r) for r in grid), default=0)


def _xls_sheet_names(path: Path) -> list[str]:
    with _xls_book(path) as book:
        return list(book.sheet_names())


@activity("excel.list_sheets")
def list_sheets(params: dict[str, Any], ctx: Context) -> list[str]:
    path = book_path(params)
    if path.suffix.lower() == LEGACY_SUFFIX:
        return _xls_sheet_names(path)
    wb = load(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _required_sheet(params: dict[str, Any], name: str = "sheet") -> str:
    value = text(params, name)
    if not value.strip():
        raise ActivityError(f"param {name!r} must not be empty")
    return value


@activity("excel.add_sheet")
def add_sheet(params: dict[str, Any], ctx: Context) -> None:
    path = book_path(params)
    name = _valid_title(_required_sheet(params))
    position = params.get("position")
    with editing(path) as wb:
        if name in wb.sheetnames:
            raise ActivityError(f"workbook {path.name} already has a sheet {name!r}")
        index = None if position in (None, "") else max(integer(params, "position") - 1, 0)
        wb.create_sheet(name, index)


@activity("excel.rename_sheet")
def rename_sheet(params: dict[str, Any], ctx: Context) -> None:
    path = book_path(params)
    old = _required_sheet(params)
    new = _valid_title(_required_sheet(params, "new_name"))
    with editing(path) as wb:
        ws = worksheet(wb, old, path)
        if new != old and new in wb.sheetnames:
            raise ActivityError(f"workbook {path.name} already has a sheet {new!r}")
        ws.title = new


@activity("excel.delete_sheet")
def delete_sheet(params: dict[str, Any], ctx: Context) -> None:
    path = book_path(params)
    name = _required_sheet(params)
    with editing(path) as wb:
        ws = worksheet(wb, name, path)
        if len(wb.sheetnames) == 1:
            raise ActivityError(f"cannot delete {name!r}: it is the only sheet of {path.name}")
        wb.remove(ws)


# ---------------------------------------------------------------------------------------------
# Ranges and cells


def _bounds(ref: str, ws: Any) -> tuple[int, int, int, int]:
    """(min_col, min_row, max_col, max_row) of a range; open ends (``B:B``, ``2:5``) reach
    to the used area."""
    try:
        min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", "").upper())
    except (ValueError, TypeError):
        raise ActivityError(f"invalid range {ref!r}: use A1:C10, B:B or 2:5") from None
    return (
        min_col or 1,
        min_row or 1,
        max_col or max(ws.max_column, 1),
        max_row or max(ws.max_row, 1),
    )


def _range_param(params: dict[str, Any]) -> str:
    value = text(params, "range").strip()
    if not value:
        raise ActivityError("param 'range' must not be empty")
    return value


def _coordinate(params: dict[str, Any], name: str = "cell") -> tuple[int, int]:
    ref = text(params, name).strip().replace("$", "").upper()
    try:
        column, row = coordinate_from_string(ref)
        return row, column_index_from_string(column)
    except (ValueError, TypeError, CellCoordinatesException):
        raise ActivityError(f"invalid cell reference {ref!r}: use A1, B2, ...") from None


@activity("excel.read_range")
def read_range(params: dict[str, Any], ctx: Context) -> list[Any]:
    path = book_path(params)
    sheet = sheet_param(params)
    ref = _range_param(params)
    if path.suffix.lower() == LEGACY_SUFFIX:
        _, all_rows = _xls_rows(path, sheet)
        fake = _Extent(len(all_rows), max((len(r) for r in all_rows), default=0))
        c1, r1, c2, r2 = _bounds(ref, fake)
        rows = [
            [row[c - 1] if c - 1 < len(row) else (None, "General") for c in range(c1, c2 + 1)]
            for row in all_rows[r1 - 1 : r2]
        ]
    else:
        wb = load(path, data_only=True)
        ws = worksheet(wb, sheet, path)
        c1, r1, c2, r2 = _bounds(ref, ws)
        rows = [
            [(c.value, c.number_format) for c in row]
            for row in ws.iter_rows(min_row=r1, max_row=r2, min_col=c1, max_col=c2)
        ]
    if boolean(params, "header"):
        return table(
            rows,
            header=True,
            trim=boolean(params, "trim_header"),
            text_columns=params.get("text_columns"),
            span=(c1, c2),
        )
    width = c2 - c1 + 1
    keys = [get_column_letter(c) for c in range(c1, c2 + 1)]
    as_text = column_indexes(params.get("text_columns"), keys, "text_columns", (c1, c2))
    grid = [
        [plain(v, f, as_text=bool(as_text and i in as_text)) for i, (v, f) in enumerate(r)]
        for r in rows
    ]
    return [row + [None] * (width - len(row)) for row in grid]


class _Extent:
    """The used size of an .xls sheet, for ranges with open ends."""

    def __init__(self, rows: int, columns: int) -> None:
        self.max_row, self.max_column = rows, columns


@activity("excel.write_range")
def write_range(params: dict[str, Any], ctx: Context) -> None:
    path = book_path(params, must_exist=False)
    sheet = sheet_param(params)
    row0, col0 = _coordinate(params)
    rows = params.get("rows")
    if (
        isinstance(rows, list | tuple)
        and rows
        and not any(isinstance(r, list | tuple) for r in rows)
    ):
        rows = [rows]  # one plain list is one row
    if not isinstance(rows, list | tuple) or not all(isinstance(r, list | tuple) for r in rows):
        raise ActivityError("param 'rows' must be a list of lists, e.g. [[1, 2], [3, 4]]")
    parse_dates = boolean(params, "parse_dates", True)
    formulas = boolean(params, "formulas")
    with editing(path, create=True) as wb:
        ws = worksheet(wb, sheet, path, create=True)
        for r, row in enumerate(rows):
            for c, item in enumerate(row):
                value = cell_value(item, parse_dates=parse_dates)
                set_cell(ws, row0 + r, col0 + c, value, formulas=formulas)


@activity("excel.read_cell")
def read_cell(params: dict[str, Any], ctx: Context) -> Any:
    path = book_path(params)
    sheet = sheet_param(params)
    row, column = _coordinate(params)
    as_text = boolean(params, "as_text")
    if path.suffix.lower() == LEGACY_SUFFIX:
        _, rows = _xls_rows(path, sheet)
        value, fmt = (
            rows[row - 1][column - 1]
            if row <= len(rows) and column <= len(rows[row - 1])
            else (None, "General")
        )
        return plain(value, fmt, as_text=as_text)
    wb = load(path, data_only=not boolean(params, "formula"))
    cell = worksheet(wb, sheet, path).cell(row=row, column=column)
    return plain(cell.value, cell.number_format, as_text=as_text)


@activity("excel.write_cell")
def write_cell(params: dict[str, Any], ctx: Context) -> None:
    path = book_path(params, must_exist=False)
    sheet = sheet_param(params)
    row, column = _coordinate(params)
    formula = params.get("formula")
    if formula not in (None, "") and params.get("value") is not None:
        raise ActivityError("give either 'value' or 'formula', not both")
    with editing(path, create=True) as wb:
        ws = worksheet(wb, sheet, path, create=True)
        if formula not in (None, ""):
            source = text(params, "formula").strip()
            ws.cell(row=row, column=column).value = (
                source if source.startswith("=") else f"={source}"
            )
        else:
            value = cell_value(params.get("value"), parse_dates=True)
            set_cell(ws, row, column, value, formulas=False)
        fmt = params.get("number_format")
        if fmt not in (None, ""):
            ws.cell(row=row, column=column).number_format = text(params, "number_format")


@activity("excel.find_empty_row")
def find_empty_row(params: dict[str, Any], ctx: Context) -> int:
    path = book_path(params)
    sheet = sheet_param(params)
    start = integer(params, "start", 1)
    if start < 1:
        raise ActivityError("param 'start' must be 1 or more")
    column = params.get("column")
    _, rows = raw_rows(path, sheet)
    grid = to_grid(rows)
    if column in (None, ""):
        return max(len(grid) + 1, start)
    index = _column_number(text(params, "column"), "column") - 1
    r = start
    while r <= len(grid):
        row = grid[r - 1]
        if index >= len(row) or row[index] in (None, ""):
            return r
        r += 1
    return r


def _column_number(value: str, name: str) -> int:
    value = value.strip().upper()
    if value.isdigit() and int(value) >= 1:
        return int(value)
    try:
        return column_index_from_string(value)
    except ValueError:
        raise ActivityError(
            f"param {name!r} must be a column letter or number, got {value!r}"
        ) from None


def _positive(params: dict[str, Any], name: str) -> int:
    value = integer(params, name, 1)
    if value < 1:
        raise ActivityError(f"param {name!r} must be 1 or more, got {value}")
    return value


def _change_rows_or_columns(params: dict[str, Any], action: str) -> None:
    path = book_path(params)
    sheet = sheet_param(params)
    count = _positive(params, "count")
    if action.endswith("rows"):
        where = _positive(params, "row")
    else:
        where = _column_number(text(params, "column"), "column")
    with editing(path) as wb:
        ws = worksheet(wb, sheet, path)
        getattr(ws, action)(where, count)


@activity("excel.insert_rows")
def insert_rows(params: dict[str, Any], ctx: Context) -> None:
    _change_rows_or_columns(params, "insert_rows")


@activity("excel.delete_rows")
def delete_rows(params: dict[str, Any], ctx: Context) -> None:
    _change_rows_or_columns(params, "delete_rows")


@activity("excel.insert_columns")
def insert_columns(params: dict[str, Any], ctx: Context) -> None:
    _change_rows_or_columns(params, "insert_cols")


@activity("excel.delete_columns")
def delete_columns(params: dict[str, Any], ctx: Context) -> None:
    _change_rows_or_columns(params, "delete_cols")


@activity("excel.set_number_format")
def set_number_format(params: dict[str, Any], ctx: Context) -> None:
    path = book_path(params)
    sheet = sheet_param(params)
    ref = _range_param(params)
    fmt = text(params, "format")
    if not fmt:
        raise ActivityError("param 'format' must not be empty")
    with editing(path) as wb:
        ws = worksheet(wb, sheet, path)
        c1, r1, c2, r2 = _bounds(ref, ws)
        for row in ws.iter_rows(min_row=r1, max_row=r2, min_col=c1, max_col=c2):
            for cell in row:
                cell.number_format = fmt


# ---------------------------------------------------------------------------------------------
# Pivot summary


@activity("excel.summarize")
def summarize(params: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    path = book_path(params)
    _refuse_legacy_write(path)  # before reading: the summary could not be written
    sheet = sheet_param(params)
    target = _valid_title(_required_sheet(params, "target_sheet"))
    group_by = params.get("group_by")
    if isinstance(group_by, str):
        group_by = [group_by]
    if not isinstance(group_by, list | tuple) or not group_by:
        raise ActivityError("param 'group_by' must be a list of column names")
    by = [str(g) for g in group_by]
    specs = value_specs(params.get("values"))
    _, raw = raw_rows(path, sheet)
    rows = table(raw, header=True, trim=boolean(params, "trim_header"))
    keys = list(rows[0]) if rows else []
    for name in [*by, *(s.column for s in specs)]:
        if rows and name not in keys:
            raise ActivityError(f"no column {name!r} in the sheet (columns: {', '.join(keys)})")
    summary = aggregate(rows, by, specs)
    with editing(path) as wb:
        if sheet is not None and target == sheet or target == wb.sheetnames[0] and sheet is None:
            raise ActivityError("target_sheet must differ from the source sheet")
        if target in wb.sheetnames:
            index = wb.sheetnames.index(target)
            wb.remove(wb[target])
            ws = wb.create_sheet(target, index)
        else:
            ws = wb.create_sheet(target)
        write_rows(
            ws, summary, header=True, append=False, columns=None, parse_dates=False, formulas=False
        )
    return summary


# ---------------------------------------------------------------------------------------------
# Macros

MACRO_SUFFIXES = (".xlsm", ".xltm", ".xls", ".xlsb", ".ods", ".xlsx")
_MACRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){1,2}$")
#: the Python with LibreOffice's ``uno`` module (Debian: python3-uno)
UNO_PYTHON_ENV = "EXEKRA_UNO_PYTHON"


def _macro_args(params: dict[str, Any]) -> list[Any]:
    args = params.get("args")
    if args in (None, ""):
        return []
    if not isinstance(args, list | tuple):
        raise ActivityError("param 'args' must be a list")
    for i, arg in enumerate(args):
        if arg is not None and not isinstance(arg, bool | int | float | str):
            raise ActivityError(f"args[{i}] must be text, a number or a boolean")
    return list(args)


@activity("excel.run_macro")
def run_macro(params: dict[str, Any], ctx: Context) -> Any:
    path = fs.path(params)
    if path.suffix.lower() not in MACRO_SUFFIXES:
        raise ActivityError(f"not a workbook that can hold macros (.xlsm, .xls, .ods): {path}")
    if not path.is_file():
        raise ActivityError(f"workbook does not exist: {path}")
    macro = text(params, "macro").strip()
    if not _MACRO_NAME.match(macro):
        raise ActivityError(
            f"invalid macro name {macro!r}: use Module.Macro or Library.Module.Macro"
        )
    args = _macro_args(params)
    engine = text(params, "engine", "auto")
    if engine not in MACRO_ENGINES:
        raise ActivityError(f"param 'engine' must be one of {', '.join(MACRO_ENGINES)}")
    if engine == "auto":
        engine = "excel" if sys.platform == "win32" else "libreoffice"
    timeout = number(params, "timeout", 120)
    save_after = boolean(params, "save", True)
    if engine == "excel":
        return _excel_com_macro(path, macro, args, save_after)
    return _libreoffice_macro(path, macro, args, save_after, ctx, timeout)


def _uno_python(soffice: str) -> str:
    """A Python that can ``import uno``: $EXEKRA_UNO_PYTHON, LibreOffice's own, or python3."""
    candidates = [os.environ.get(UNO_PYTHON_ENV, "")]
    program = Path(os.path.realpath(soffice)).parent
    candidates += [str(program / "python"), str(program / "python.exe")]
    candidates += [shutil.which("python3") or "", "/usr/bin/python3"]
    for candidate in dict.fromkeys(c for c in candidates if c):
        if not Path(candidate).is_file():
            continue
        probe = subprocess.run(
            [candidate, "-c", "import uno"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return candidate
    raise ActivityError(
        "cannot run macros with LibreOffice: no Python with LibreOffice's 'uno' module found "
        f"(install python3-uno, or set {UNO_PYTHON_ENV})"
    )


def _libreoffice_macro(
    path: Path, macro: str, args: list[Any], save_after: bool, ctx: Context, timeout: float
) -> Any:
    soffice = office.soffice("run macros with engine libreoffice")
    limit = ctx.remaining(timeout) or timeout
    request = {
        "soffice": soffice,
        "path": str(path.resolve()),
        "macro": macro,
        "args": args,
        "save": save_after,
        "timeout": limit,
    }
    helper = Path(__file__).with_name("_uno_macro.py")
    python = _uno_python(soffice)
    # the request (args may be rendered secrets) goes in a file in a folder only this user
    # can read, never on the command line, which every user of the machine can see
    with tempfile.TemporaryDirectory(prefix="exekra-macro-") as private:
        request_file = Path(private) / "request.json"
        request_file.write_text(json.dumps(request), encoding="utf-8")
        # the helper's own deadline is limit; 15 s more for it to report and clean up; its
        # LibreOffice shares its process group, gone with it however it ended (the engine
        # may have killed only the helper when the node timed out)
        done = office.run(
            [python, str(helper), str(request_file)],
            ctx,
            limit + 15,
            f"the macro did not finish within {limit:g} s",
        )
    ctx.check()
    lines = [ln for ln in done.stdout.decode("utf-8", "replace").splitlines() if ln[:1] == "{"]
    if not lines:
        raise ActivityError(f"the macro runner ended without an answer (status {done.returncode})")
    answer = json.loads(lines[-1])
    if "error" in answer:
        raise ActivityError(f"macro {macro!r} in {path.name} failed: {answer['error']}")
    return answer.get("result")


def _excel_com_macro(path: Path, macro: str, args: list[Any], save_after: bool) -> Any:
    """Excel over COM (Windows with the ``windows`` extra, pywin32). Not testable on Linux."""
    try:
        import win32com.client  # type: ignore[import-not-found]
    except ImportError:
        raise ActivityError(
            "running macros in Excel needs Windows with Excel and pywin32 "
            "(pip install 'exekra[windows]'); on Linux use engine libreoffice"
        ) from None
    excel = win32com.client.DispatchEx("Excel.Application")
    excel.Visible = False
    excel.DisplayAlerts = False
    try:
        book = excel.Workbooks.Open(str(path.resolve()))
        try:
            name = macro.split(".", 1)[1] if macro.count(".") == 2 else macro
            result = excel.Run(f"'{book.Name}'!{name}", *args)
            if save_after:
                book.Save()
        finally:
            book.Close(SaveChanges=False)
    except Exception as exc:  # noqa: BLE001 - COM errors carry Excel's own message
        raise ActivityError(f"Excel could not run macro {macro!r}: {exc}") from None
    finally:
        excel.Quit()
    return result if result is None or isinstance(result, bool | int | float | str) else str(result)
