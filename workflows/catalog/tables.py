"""CSV files and lists of row objects: the glue between Excel, databases, browser tables and
e-mail.

A *table* is a list of row objects (``[{"id": 1, "name": "Ada"}, ...]``), the shape
``excel.read_table``, ``database.query`` and ``browser.extract_table`` produce and
``excel.write_table`` / ``csv.write`` consume. CSV values are text (CSV has no types);
``csv.read`` with ``numbers`` turns numeric text into numbers.
"""

from __future__ import annotations

from . import Activity, Param, category, register

category("csv", "CSV files")
category("table", "Tables")

DIALECTS = ("excel", "excel-tab", "unix", "auto")
CSV_WRITE_MODES = ("replace", "append")
AGGREGATES = ("sum", "count", "avg", "min", "max")


def _rows() -> Param:
    return Param("rows", "list", required=True, description="a list of row objects, e.g. {rows}")


def _output(what: str, required: bool = True) -> Param:
    return Param("output", "variable", required=required, description=f"variable for {what}")


def _csv_format() -> tuple[Param, ...]:
    return (
        Param("dialect", "choice", default="excel", choices=DIALECTS, description="auto: guess"),
        Param("delimiter", "string", description="e.g. ; or \\t (default: the dialect's)"),
        Param("quotechar", "string", description='default: "'),
    )


register(
    Activity(
        type="csv.read",
        title="Read CSV",
        description=(
            "Read a CSV file as row objects keyed by the header row (or, without `header`, "
            "as lists). The default encoding `utf-8-sig` also reads files with a byte-order "
            "mark (as Excel writes them); `dialect` auto guesses delimiter and quoting. "
            "Values are text; `numbers` turns numeric text into numbers (leading zeros, as "
            "in phone numbers, stay text)."
        ),
        params=(
            Param("path", "string", required=True),
            Param("encoding", "string", default="utf-8-sig"),
            *_csv_format(),
            Param("header", "boolean", default=True),
            Param("trim_header", "boolean", default=False, description="strip header names"),
            Param("numbers", "boolean", default=False, description="numeric text → numbers"),
            Param("skip_blank", "boolean", default=True, description="skip empty lines"),
            _output("the rows"),
        ),
        output="list",
    ),
    Activity(
        type="csv.write",
        title="Write CSV",
        description=(
            "Write row objects (or lists) to a CSV file, creating missing folders; `append` "
            "adds rows to an existing file (a header only when the file is new). Encoding "
            "`utf-8-sig` writes a byte-order mark so Excel reads UTF-8 correctly. With "
            "`escape_formulas`, text starting with = + - @ gets a leading ' so a "
            "spreadsheet opening the file does not run it as a formula."
        ),
        params=(
            Param("path", "string", required=True),
            _rows(),
            Param("columns", "list", description="column order (default: keys as they come)"),
            Param("header", "boolean", default=True),
            Param("mode", "choice", default="replace", choices=CSV_WRITE_MODES),
            Param("encoding", "string", default="utf-8"),
            *_csv_format(),
            Param("escape_formulas", "boolean", default=False),
            _output("the number of rows written", required=False),
        ),
        output="integer",
    ),
    Activity(
        type="table.filter",
        title="Filter rows",
        description=(
            "Keep the rows for which a condition holds. The condition sees the workflow's "
            'variables, each field of the row by name (`total > 100 and status == "open"`) '
            'and the whole row under `row` (`row["Last Name "]` for names that are not '
            "identifiers). A row whose null field is compared with a value (`total > 100` with "
            "no total) does not match."
        ),
        params=(
            _rows(),
            Param("condition", "condition", required=True, description="e.g. total > 100"),
            Param("row", "variable", default="row", description="name of the current row"),
            _output("the kept rows"),
        ),
        output="list",
    ),
    Activity(
        type="table.sort",
        title="Sort rows",
        description=(
            "Sort rows by one or more columns; a name starting with `-` sorts descending "
            "(`['-total', 'name']`). Missing and null values go last; numbers before text."
        ),
        params=(
            _rows(),
            Param("by", "list", required=True, description="e.g. ['-total', 'name']"),
            _output("the sorted rows"),
        ),
        output="list",
    ),
    Activity(
        type="table.group",
        title="Group rows",
        description=(
            "Group rows by one or more columns. With `values` ({column: function} or a list of "
            "{column, function, name}; functions sum, count, avg, min, max) one summary row "
            "per group (`{region, amount_sum}`); without, one row per group with its `rows`."
        ),
        params=(
            _rows(),
            Param("by", "list", required=True, description="e.g. ['region']"),
            Param("values", "any", description="e.g. {'amount': 'sum', 'id': 'count'}"),
            _output("the groups"),
        ),
        output="list",
    ),
    Activity(
        type="table.columns",
        title="Select columns",
        description=(
            "Keep (and order) some columns of every row, optionally renaming them: `columns` "
            "is a list of names or an object {old: new}."
        ),
        params=(
            _rows(),
            Param("columns", "any", required=True, description="['id', 'name'] or {'id': 'ID'}"),
            _output("the new rows"),
        ),
        output="list",
    ),
)
