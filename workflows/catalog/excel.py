"""Excel workbooks on the runner's machine: .xlsx and .xlsm (openpyxl), legacy .xls read-only
(xlrd).

Rows travel as lists of objects keyed by the header row, the same shape database queries and
browser tables give, so a workflow can move rows between them without glue. Cell values keep
their types: numbers stay numbers, booleans booleans; dates and times become ISO 8601 text
(``2024-01-31``, ``2024-01-31T09:30:00``) because variables are JSON. Writing a row value that
is ISO date text stores a real date again (``parse_dates``), so a read/write round trip keeps
dates. Text starting with ``=`` is written as text, never as a formula, unless ``formulas`` is
set: rows often come from outside (e-mails, web pages) and must not smuggle formulas in.
"""

from __future__ import annotations

from . import Activity, Param, category, register

category("excel", "Excel")

WRITE_MODES = ("replace", "append")


def _path(description: str = "the .xlsx / .xlsm / .xls file") -> Param:
    return Param("path", "string", required=True, description=description)


def _sheet(description: str = "sheet name (default: the first)") -> Param:
    return Param("sheet", "string", description=description)


def _header(description: str) -> Param:
    return Param("header", "boolean", default=True, description=description)


def _trim_header() -> Param:
    return Param(
        "trim_header",
        "boolean",
        default=False,
        description="strip spaces around header names ('Last Name ' → 'Last Name'); "
        "default: keys as written",
    )


def _text_columns() -> Param:
    return Param(
        "text_columns",
        "list",
        description="columns whose values come back as text (phone numbers, ZIP codes), "
        "e.g. ['Phone']",
    )


def _output(what: str, required: bool = True) -> Param:
    return Param("output", "variable", required=required, description=f"variable for {what}")


register(
    Activity(
        type="excel.read_table",
        title="Read Excel table",
        description=(
            "Read a sheet as a list of row objects keyed by the header row (names as written, "
            "or trimmed with `trim_header`; a blank header cell is keyed by its column letter, "
            "a repeated one gets `_2`, `_3`). Without `header` the keys are the column letters "
            "(A, B, ...). Fully blank rows are skipped; an empty sheet gives an empty list. "
            "Formulas give the value last calculated by Excel or LibreOffice (null in a file "
            "no spreadsheet program has saved)."
        ),
        params=(
            _path(),
            _sheet(),
            _header("the first row holds the column names"),
            _trim_header(),
            _text_columns(),
            _output("the rows"),
        ),
        output="list",
    ),
    Activity(
        type="excel.write_table",
        title="Write Excel table",
        description=(
            "Write rows (a list of objects, or of lists) to a sheet, creating the file and the "
            "sheet when missing. `replace` clears the sheet first; `append` adds below the last "
            "used row, matching object keys to the existing header row (new keys become new "
            "columns). With `header`, object keys are written as the header row when the "
            "sheet is empty. ISO date text becomes real dates (`parse_dates`); text starting "
            "with `=` stays text unless `formulas` is set. Saved atomically: a failed write "
            "leaves the old file as it was."
        ),
        params=(
            Param("path", "string", required=True, description="the .xlsx / .xlsm file"),
            _sheet("sheet name (default: the first; created when missing)"),
            Param("rows", "list", required=True, description="e.g. {orders}"),
            _header("write object keys as the header row"),
            Param("mode", "choice", default="replace", choices=WRITE_MODES),
            Param("columns", "list", description="column order for object rows (default: keys)"),
            Param("parse_dates", "boolean", default=True, description="ISO date text → dates"),
            Param("formulas", "boolean", default=False, description="'=…' text → formulas"),
            _output("the number of rows written", required=False),
        ),
        output="integer",
    ),
)
