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

MACRO_ENGINES = ("auto", "libreoffice", "excel")


def _cell(description: str = "cell reference, e.g. B2") -> Param:
    return Param("cell", "string", required=True, description=description)


def _range(required: bool = True) -> Param:
    return Param("range", "string", required=required, description="e.g. A1:C10, B:B or 2:5")


def _count() -> Param:
    return Param("count", "integer", default=1, description="how many")


register(
    Activity(
        type="excel.create",
        title="Create workbook",
        description="Create a new .xlsx workbook with the named sheets (default: Sheet1).",
        params=(
            Param("path", "string", required=True, description="the .xlsx file to create"),
            Param("sheets", "list", description="sheet names, e.g. ['Orders', 'Summary']"),
            Param("overwrite", "boolean", default=False, description="replace an existing file"),
        ),
    ),
    Activity(
        type="excel.open",
        title="Open workbook",
        description=(
            "Check that a workbook opens and describe it: {path, format, sheets: [{name, rows, "
            "columns}]} (rows and columns of the used area). Every other Excel activity opens "
            "the file itself, so this is for checks and branching, not a prerequisite."
        ),
        params=(_path(), _output("the description")),
        output="object",
    ),
    Activity(
        type="excel.list_sheets",
        title="List sheets",
        description="The names of a workbook's sheets, in order.",
        params=(_path(), _output("the list of names")),
        output="list",
    ),
    Activity(
        type="excel.add_sheet",
        title="Add sheet",
        description="Add an empty sheet (at `position`, 1 = first; default: last).",
        params=(
            Param("path", "string", required=True, description="the .xlsx / .xlsm file"),
            Param("sheet", "string", required=True, description="name of the new sheet"),
            Param("position", "integer", description="1 = first (default: after the last)"),
        ),
    ),
    Activity(
        type="excel.rename_sheet",
        title="Rename sheet",
        description="Rename a sheet.",
        params=(
            Param("path", "string", required=True),
            Param("sheet", "string", required=True, description="current name"),
            Param("new_name", "string", required=True),
        ),
    ),
    Activity(
        type="excel.delete_sheet",
        title="Delete sheet",
        description="Delete a sheet (a workbook keeps at least one).",
        params=(Param("path", "string", required=True), Param("sheet", "string", required=True)),
    ),
    Activity(
        type="excel.read_range",
        title="Read range",
        description=(
            "Read a range (`A1:C10`, `B:B`, `2:5`) as a list of lists, or with `header` as "
            "row objects keyed by the range's first row. Values as in `excel.read_table`."
        ),
        params=(
            _path(),
            _sheet(),
            _range(),
            Param("header", "boolean", default=False, description="first row → keys"),
            _trim_header(),
            _text_columns(),
            _output("the rows"),
        ),
        output="list",
    ),
    Activity(
        type="excel.write_range",
        title="Write range",
        description=(
            "Write a list of lists (or one list, as one row) starting at a cell, overwriting "
            "what is there. Values as in `excel.write_table`."
        ),
        params=(
            Param("path", "string", required=True, description="the .xlsx / .xlsm file"),
            _sheet("sheet name (default: the first; created when missing)"),
            _cell("top-left cell, e.g. B2"),
            Param("rows", "list", required=True, description="e.g. [[1, 2], [3, 4]]"),
            Param("parse_dates", "boolean", default=True),
            Param("formulas", "boolean", default=False),
        ),
    ),
    Activity(
        type="excel.read_cell",
        title="Read cell",
        description=(
            "Read one cell: its value (a formula's last calculated value), or with `formula` "
            "the formula as written (`=SUM(A1:A3)`)."
        ),
        params=(
            _path(),
            _sheet(),
            _cell(),
            Param("formula", "boolean", default=False, description="the formula, not its value"),
            Param("as_text", "boolean", default=False, description="the value as shown"),
            _output("the value"),
        ),
        output="any",
    ),
    Activity(
        type="excel.write_cell",
        title="Write cell",
        description=(
            "Write one cell: a `value` (text starting with `=` stays text) or a `formula` "
            "(`=SUM(A1:A3)`, calculated when Excel or LibreOffice next opens the file), with "
            "an optional number format."
        ),
        params=(
            Param("path", "string", required=True, description="the .xlsx / .xlsm file"),
            _sheet("sheet name (default: the first; created when missing)"),
            _cell(),
            Param("value", "any", description="the value (ISO date text → a date)"),
            Param("formula", "string", description="e.g. =SUM(A1:A3)"),
            Param("number_format", "string", description="e.g. 0.00 or yyyy-mm-dd"),
        ),
    ),
    Activity(
        type="excel.find_empty_row",
        title="Find first empty row",
        description=(
            "The number of the first empty row: below the used area, or with `column` the "
            "first row whose cell in that column is empty (starting at `start`)."
        ),
        params=(
            _path(),
            _sheet(),
            Param("column", "string", description="column letter, e.g. A (default: any)"),
            Param("start", "integer", default=1, description="first row to look at"),
            _output("the row number"),
        ),
        output="integer",
    ),
    Activity(
        type="excel.insert_rows",
        title="Insert rows",
        description="Insert empty rows before `row` (later rows move down).",
        params=(
            Param("path", "string", required=True),
            _sheet(),
            Param("row", "integer", required=True, description="row number, 1 = first"),
            _count(),
        ),
    ),
    Activity(
        type="excel.delete_rows",
        title="Delete rows",
        description="Delete rows starting at `row` (later rows move up).",
        params=(
            Param("path", "string", required=True),
            _sheet(),
            Param("row", "integer", required=True, description="row number, 1 = first"),
            _count(),
        ),
    ),
    Activity(
        type="excel.insert_columns",
        title="Insert columns",
        description="Insert empty columns before `column` (a letter or a number).",
        params=(
            Param("path", "string", required=True),
            _sheet(),
            Param("column", "string", required=True, description="e.g. C or 3"),
            _count(),
        ),
    ),
    Activity(
        type="excel.delete_columns",
        title="Delete columns",
        description="Delete columns starting at `column` (a letter or a number).",
        params=(
            Param("path", "string", required=True),
            _sheet(),
            Param("column", "string", required=True, description="e.g. C or 3"),
            _count(),
        ),
    ),
    Activity(
        type="excel.set_number_format",
        title="Set number format",
        description="Set the number format of every cell in a range (`0.00`, `#,##0`, "
        "`yyyy-mm-dd`, `0000000000`, `@` for text).",
        params=(
            Param("path", "string", required=True),
            _sheet(),
            _range(),
            Param("format", "string", required=True, description="an Excel number format"),
        ),
    ),
    Activity(
        type="excel.summarize",
        title="Summarize (pivot summary)",
        description=(
            "Group a sheet's rows by one or more columns and compute sum / count / avg / min / "
            "max of others, like a pivot table, written as plain values into a new sheet "
            "(replaced when it exists). Not a live Excel PivotTable: openpyxl cannot create "
            "those; refresh by running the activity again. `values` is an object "
            "{column: function} or a list of {column, function, name}."
        ),
        params=(
            _path(),
            _sheet("source sheet (default: the first)"),
            Param("group_by", "list", required=True, description="e.g. ['Region']"),
            Param("values", "any", required=True, description="e.g. {'Amount': 'sum'}"),
            Param("target_sheet", "string", required=True, description="sheet for the result"),
            _trim_header(),
            _output("the summary rows", required=False),
        ),
        output="list",
    ),
    Activity(
        type="excel.run_macro",
        title="Run macro",
        description=(
            "Run a macro stored in the workbook and save the workbook afterwards (unless "
            "`save` is false). On Linux (and wherever `engine` is libreoffice) LibreOffice "
            "runs it headless: a Basic macro of an .ods/.xlsm/.xls, named "
            "`Module1.Main` (library Standard) or `Library.Module.Macro`; VBA runs in "
            "LibreOffice's VBA compatibility mode. On Windows with `engine` excel (auto "
            "there) Excel runs it over COM (needs the `windows` extra: pywin32)."
        ),
        params=(
            _path("the .xlsm / .xls / .ods workbook"),
            Param("macro", "string", required=True, description="e.g. Module1.Main"),
            Param("args", "list", description="arguments passed to the macro"),
            Param("save", "boolean", default=True, description="save the workbook afterwards"),
            Param("engine", "choice", default="auto", choices=MACRO_ENGINES),
            Param("timeout", "number", default=120, description="seconds"),
            _output("the macro's return value", required=False),
        ),
        output="any",
    ),
)
