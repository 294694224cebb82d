"""``excel.read_table`` / ``excel.write_table`` on real workbook files (written and read back
with openpyxl, plus files built the way Excel builds them: typed cells, number formats)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from .enginekit import chain, failure, node, one, run, value


def _book(path: Path, rows: list[list[object]], sheet: str = "Data") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_read_table_keys_as_written_or_trimmed(tmp_path: Path) -> None:
    # The public RPA Challenge file's header has 'Last Name ' with a trailing space.
    path = _book(
        tmp_path / "challenge.xlsx",
        [["First Name", "Last Name ", "Phone Number"], ["John", "Smith", 40716543298]],
    )
    assert value("excel.read_table", path=str(path)) == [
        {"First Name": "John", "Last Name ": "Smith", "Phone Number": 40716543298}
    ]
    assert value("excel.read_table", path=str(path), trim_header=True) == [
        {"First Name": "John", "Last Name": "Smith", "Phone Number": 40716543298}
    ]


def test_read_table_types_survive(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["When", "At", "Qty", "Price", "Ok", "Phone", "Zip"])
    ws.append(
        [dt.date(2024, 1, 31), dt.datetime(2024, 1, 31, 9, 30), 3, 2.5, True, 612345678, 1010]
    )
    ws["F2"].number_format = "0000000000"
    wb.save(tmp_path / "t.xlsx")
    rows = value("excel.read_table", path=str(tmp_path / "t.xlsx"))
    assert rows == [
        {
            "When": "2024-01-31",
            "At": "2024-01-31T09:30:00",
            "Qty": 3,
            "Price": 2.5,
            "Ok": True,
            "Phone": 612345678,
            "Zip": 1010,
        }
    ]
    assert isinstance(rows[0]["Qty"], int) and isinstance(rows[0]["Price"], float)
    as_text = value(
        "excel.read_table", path=str(tmp_path / "t.xlsx"), text_columns=["Phone", "Zip", "Qty"]
    )
    assert as_text[0]["Phone"] == "0612345678"  # the leading zero its format shows
    assert as_text[0]["Zip"] == "1010" and as_text[0]["Qty"] == "3"
    assert as_text[0]["Price"] == 2.5  # untouched
    assert "no column 'Fax'" in failure(
        "excel.read_table", path=str(tmp_path / "t.xlsx"), text_columns=["Fax"]
    )


def test_read_table_empty_and_one_row_sheets(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Empty"
    wb.create_sheet("HeaderOnly").append(["a", "b"])
    wb.create_sheet("OneRow").append(["x", 1])
    wb.save(tmp_path / "e.xlsx")
    path = str(tmp_path / "e.xlsx")
    assert value("excel.read_table", path=path) == []
    assert value("excel.read_table", path=path, header=False) == []
    assert value("excel.read_table", path=path, sheet="HeaderOnly") == []
    assert value("excel.read_table", path=path, sheet="OneRow", header=False) == [
        {"A": "x", "B": 1}
    ]


def test_read_table_blank_and_repeated_header_names(tmp_path: Path) -> None:
    path = _book(tmp_path / "h.xlsx", [["id", None, "id", "name"], [1, 2, 3, "a"], [], [None], [4]])
    assert value("excel.read_table", path=str(path)) == [
        {"id": 1, "B": 2, "id_2": 3, "name": "a"},
        {"id": 4, "B": None, "id_2": None, "name": None},
    ]


def test_read_table_repeat_that_meets_a_written_name(tmp_path: Path) -> None:
    # the second 'a' must not become a second 'a_2' (one of the columns would be lost)
    path = _book(tmp_path / "r.xlsx", [["a", "a", "a_2"], [1, 2, 3]])
    assert value("excel.read_table", path=str(path)) == [{"a": 1, "a_2": 2, "a_2_2": 3}]


def test_read_table_errors_name_the_cause(tmp_path: Path) -> None:
    path = _book(tmp_path / "a.xlsx", [["x"]])
    error = failure("excel.read_table", path=str(path), sheet="Nope")
    assert error.endswith(": workbook a.xlsx has no sheet 'Nope' (sheets: Data)")
    assert "does not exist" in failure("excel.read_table", path=str(tmp_path / "missing.xlsx"))
    (tmp_path / "fake.xlsx").write_text("not a zip")
    assert "not a valid Excel workbook" in failure(
        "excel.read_table", path=str(tmp_path / "fake.xlsx")
    )
    assert "use .xlsx, .xlsm or .xls" in failure("excel.read_table", path=str(tmp_path / "a.txt"))


def test_write_table_objects_then_append(tmp_path: Path) -> None:
    path = tmp_path / "out" / "orders.xlsx"
    rows = [
        {"id": 1, "customer": "ACME", "due": "2024-02-01", "total": 10.5},
        {"id": 2, "customer": "Globex", "due": "2024-02-03", "total": 7},
    ]
    assert value("excel.write_table", path=str(path), sheet="Orders", rows=rows) == 2
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Orders"]
    ws = wb["Orders"]
    assert [c.value for c in ws[1]] == ["id", "customer", "due", "total"]
    assert ws["C2"].value == dt.datetime(2024, 2, 1) and ws["C2"].is_date
    assert ws["D3"].value == 7

    more = [{"customer": "Initech", "id": 3, "note": "rush"}]
    value("excel.write_table", path=str(path), sheet="Orders", rows=more, mode="append")
    back = value("excel.read_table", path=str(path), sheet="Orders")
    assert back[-1] == {"id": 3, "customer": "Initech", "due": None, "total": None, "note": "rush"}
    assert back[0]["due"] == "2024-02-01"  # round trip keeps the date
    assert len(back) == 3


def test_append_under_a_header_with_a_blank_cell(tmp_path: Path) -> None:
    # Values go under the header cell that names them; the blank header cell stays blank
    # and a new key becomes a column after the existing header.
    path = _book(tmp_path / "gap.xlsx", [["a", None, "b"], [1, "x", 2]])
    rows = [{"a": 10, "b": 20, "c": 30}]
    value("excel.write_table", path=str(path), sheet="Data", rows=rows, mode="append")
    ws = openpyxl.load_workbook(path)["Data"]
    assert [c.value for c in ws[1]] == ["a", None, "b", "c"]
    assert [c.value for c in ws[3]] == [10, None, 20, 30]
    only = [{"b": 5}]
    value(
        "excel.write_table", path=str(path), sheet="Data", rows=only, mode="append", columns=["b"]
    )
    assert [c.value for c in openpyxl.load_workbook(path)["Data"][4]] == [None, None, 5, None]


def test_write_table_lists_replace_and_new_sheet(tmp_path: Path) -> None:
    path = _book(tmp_path / "b.xlsx", [["old", "data"], [1, 2], [3, 4]])
    value("excel.write_table", path=str(path), sheet="Data", rows=[["a", "b"], [5, 6]])
    assert value("excel.read_table", path=str(path)) == [{"a": 5, "b": 6}]
    value("excel.write_table", path=str(path), sheet="Extra", rows=[{"k": "v"}], header=False)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Data", "Extra"]
    assert wb["Extra"]["A1"].value == "v"


def test_write_table_never_writes_formulas_from_data(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    rows = [{"text": '=HYPERLINK("http://evil")', "sum": "=1+1"}]
    value("excel.write_table", path=str(path), rows=rows)
    ws = openpyxl.load_workbook(path).active
    assert ws["A2"].data_type == "s" and ws["A2"].value == '=HYPERLINK("http://evil")'
    value("excel.write_table", path=str(path), rows=rows, formulas=True)
    ws = openpyxl.load_workbook(path).active
    assert ws["B2"].data_type == "f"


def test_write_table_bad_input_changes_nothing(tmp_path: Path) -> None:
    path = _book(tmp_path / "keep.xlsx", [["a"], [1]])
    before = path.read_bytes()
    assert "rows[1] must be an object or a list" in failure(
        "excel.write_table", output=None, path=str(path), rows=[{"a": 1}, "oops"]
    )
    assert "must be a list of rows" in failure(
        "excel.write_table", output=None, path=str(path), rows="nope"
    )
    assert "mode' must be one of replace, append" in failure(
        "excel.write_table", output=None, path=str(path), rows=[], mode="merge"
    )
    assert "cannot write the legacy .xls format" in failure(
        "excel.write_table", output=None, path=str(tmp_path / "x.xls"), rows=[]
    )
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".keep.*"))  # no temporary file left behind


def test_write_to_an_invalid_sheet_name_is_a_clear_error(tmp_path: Path) -> None:
    existing = _book(tmp_path / "has.xlsx", [["a"], [1]])
    for path in (existing, tmp_path / "new.xlsx"):
        for name in ("a/b", "x?y"):
            for args in ({"rows": [{"a": 1}]}, {"cell": "A1", "value": 1}):
                kind = "excel.write_table" if "rows" in args else "excel.write_cell"
                error = failure(kind, output=None, path=str(path), sheet=name, **args)
                assert f"invalid sheet name {name!r}" in error
    assert not (tmp_path / "new.xlsx").exists()


def test_read_then_write_in_one_workflow(tmp_path: Path) -> None:
    src = _book(tmp_path / "in.xlsx", [["name", "qty"], ["a", 1], ["b", 2]])
    result, r = run(
        chain(
            node("read", "excel.read_table", path=str(src), output="rows"),
            node("write", "excel.write_table", path=str(tmp_path / "copy.xlsx"), rows="{rows}"),
        )
    )
    assert result.status == "COMPLETED", r.text()
    assert one("excel.read_table", path=str(tmp_path / "copy.xlsx"))[0].variables["out"] == [
        {"name": "a", "qty": 1},
        {"name": "b", "qty": 2},
    ]
