"""The Excel activities beyond tables, on real files: what they write is read back by
LibreOffice headless (a second, independent reader), macros run in a real headless
LibreOffice, and legacy .xls files are the ones LibreOffice writes."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import psutil
import pytest

from tests.office import convert, make_macro_book
from tests.ole import write_ole
from tests.support import wait_for

from .enginekit import failure, graph, node, one, run, value

MACRO_SOURCE = """Sub Main
  ThisComponent.Sheets(0).getCellByPosition(3, 0).String = "ran"
End Sub

Sub Forever
  Do
  Loop
End Sub

Function Twice(x)
  Twice = x * 2
End Function

"""


@pytest.fixture(scope="module")
def lo_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lo-profile")


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory, lo_profile: Path) -> dict[str, Path]:
    """Files LibreOffice made: an .ods with a Basic macro, and an .xls copy of a workbook."""
    base = tmp_path_factory.mktemp("legacy")
    ods = make_macro_book(
        base / "macro.ods",
        [["name", "qty"], ["a", 2], ["b", 3]],
        "Module1",
        MACRO_SOURCE,
        lo_profile,
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "People"
    ws.append(["Name", "Born", "Phone", "Score"])
    ws.append(["Ada", dt.date(1985, 12, 10), 612345678, 9.5])
    ws.append(["Alan", dt.date(1912, 6, 23), 712345678, 10])
    ws["C2"].number_format = ws["C3"].number_format = "0000000000"
    wb.create_sheet("Empty")
    wb.save(base / "people.xlsx")
    (xls,) = convert([base / "people.xlsx"], "xls", base / "xls", lo_profile)
    return {"ods": ods, "xls": xls}


def _csv_of(book: Path, lo_profile: Path, outdir: Path) -> list[list[str]]:
    """The first sheet as LibreOffice reads it (UTF-8 CSV)."""
    (out,) = convert([book], "csv:Text - txt - csv (StarCalc):44,34,76", outdir, lo_profile)
    with out.open(encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_create_sheets_and_info(tmp_path: Path) -> None:
    path = str(tmp_path / "new.xlsx")
    one("excel.create", output=None, path=path, sheets=["Orders", "Summary"])
    assert value("excel.list_sheets", path=path) == ["Orders", "Summary"]
    assert "exists and overwrite is false" in failure("excel.create", output=None, path=path)
    one("excel.add_sheet", output=None, path=path, sheet="First", position=1)
    one("excel.rename_sheet", output=None, path=path, sheet="Summary", new_name="Totals")
    one("excel.delete_sheet", output=None, path=path, sheet="Orders")
    assert value("excel.list_sheets", path=path) == ["First", "Totals"]
    assert "already has a sheet 'Totals'" in failure(
        "excel.add_sheet", output=None, path=path, sheet="Totals"
    )
    assert "has no sheet 'Orders'" in failure(
        "excel.rename_sheet", output=None, path=path, sheet="Orders", new_name="X"
    )
    assert "invalid sheet name" in failure("excel.add_sheet", output=None, path=path, sheet="a/b")
    one("excel.delete_sheet", output=None, path=path, sheet="First")
    assert "only sheet" in failure("excel.delete_sheet", output=None, path=path, sheet="Totals")
    value("excel.write_table", path=path, rows=[{"a": 1}, {"a": 2}])
    assert value("excel.open", path=path) == {
        "path": path,
        "format": "xlsx",
        "sheets": [{"name": "Totals", "rows": 3, "columns": 1}],
    }
    assert "does not exist" in failure("excel.open", path=str(tmp_path / "nope.xlsx"))


def test_cells_ranges_formulas_seen_by_libreoffice(tmp_path: Path, lo_profile: Path) -> None:
    path = str(tmp_path / "calc.xlsx")
    one("excel.write_range", output=None, path=path, cell="A1", rows=[["x", "y"], [1, 2], [3, 4]])
    one("excel.write_cell", output=None, path=path, cell="C2", formula="=A2+B2")
    one("excel.write_cell", output=None, path=path, cell="C3", formula="SUM(A3:B3)")
    one("excel.write_cell", output=None, path=path, cell="D2", value="=not a formula")
    one("excel.write_cell", output=None, path=path, cell="E2", value=0.5, number_format="0.00%")
    assert value("excel.read_cell", path=path, cell="C2", formula=True) == "=A2+B2"
    assert value("excel.read_cell", path=path, cell="D2") == "=not a formula"
    assert value("excel.read_cell", path=path, cell="B3") == 4
    assert value("excel.read_range", path=path, range="A1:B3") == [["x", "y"], [1, 2], [3, 4]]
    assert value("excel.read_range", path=path, range="A1:B3", header=True) == [
        {"x": 1, "y": 2},
        {"x": 3, "y": 4},
    ]
    assert value("excel.read_range", path=path, range="B:B") == [["y"], [2], [4]]
    # LibreOffice calculates the formulas openpyxl only stored, and shows the format.
    grid = _csv_of(Path(path), lo_profile, tmp_path / "lo")
    assert grid[1][:5] == ["1", "2", "3", "=not a formula", "50.00%"]
    assert grid[2][:3] == ["3", "4", "7"]
    assert "invalid range" in failure("excel.read_range", path=path, range="A1:?")
    assert "invalid cell reference" in failure("excel.read_cell", path=path, cell="11A")
    assert "either 'value' or 'formula'" in failure(
        "excel.write_cell", output=None, path=path, cell="A1", value=1, formula="=1"
    )


def test_read_range_names_columns_by_the_sheet_letters(tmp_path: Path) -> None:
    # A range that starts at column C: a blank header cell is 'C', and text_columns letters
    # are the sheet's, not counted from the range's first column.
    path = str(tmp_path / "off.xlsx")
    one("excel.write_range", output=None, path=path, cell="C1", rows=[[None, "qty"], [7, 8]])
    assert value("excel.read_range", path=path, range="C1:D2", header=True) == [{"C": 7, "qty": 8}]
    assert value("excel.read_range", path=path, range="C1:D2", header=True, text_columns=["C"]) == [
        {"C": "7", "qty": 8}
    ]
    assert value("excel.read_range", path=path, range="C1:D2", text_columns=["D"]) == [
        [None, "qty"],
        [7, "8"],
    ]
    for header in (True, False):
        error = failure(
            "excel.read_range", path=path, range="C1:D2", header=header, text_columns=["A"]
        )
        assert "text_columns: column 'A' is outside the range (columns C to D)" in error


def test_empty_row_insert_delete_and_formats(tmp_path: Path, lo_profile: Path) -> None:
    path = str(tmp_path / "rows.xlsx")
    value(
        "excel.write_table",
        path=path,
        rows=[{"id": 1, "name": "a"}, {"id": None, "name": "b"}, {"id": 3, "name": "c"}],
    )
    assert value("excel.find_empty_row", path=path) == 5
    assert value("excel.find_empty_row", path=path, column="A") == 3
    assert value("excel.find_empty_row", path=path, column="B", start=2) == 5
    one("excel.insert_rows", output=None, path=path, row=2, count=2)
    one("excel.delete_rows", output=None, path=path, row=2)
    one("excel.insert_columns", output=None, path=path, column="A")
    one("excel.delete_columns", output=None, path=path, column="1")
    one("excel.insert_columns", output=None, path=path, column="C", count=1)
    one("excel.set_number_format", output=None, path=path, range="A3:A5", format="000")
    assert value("excel.read_range", path=path, range="A1:C3") == [
        ["id", "name", None],
        [None, None, None],
        [1, "a", None],
    ]
    grid = _csv_of(Path(path), lo_profile, tmp_path / "lo")
    assert [(row + ["", ""])[:2] for row in grid] == [
        ["id", "name"],
        ["", ""],
        ["001", "a"],
        ["", "b"],
        ["003", "c"],
    ]
    assert "must be 1 or more" in failure("excel.delete_rows", output=None, path=path, row=0)
    assert "column letter or number" in failure(
        "excel.insert_columns", output=None, path=path, column="A1"
    )


def test_summarize_into_a_new_sheet(tmp_path: Path, lo_profile: Path) -> None:
    path = str(tmp_path / "sales.xlsx")
    rows = [
        {"Region ": "North", "Rep": "Ann", "Amount": 100},
        {"Region ": "South", "Rep": "Bob", "Amount": 50},
        {"Region ": "North", "Rep": "Cy", "Amount": 25.5},
        {"Region ": "South", "Rep": "Bob", "Amount": None},
    ]
    value("excel.write_table", path=path, sheet="Sales", rows=rows)
    summary = value(
        "excel.summarize",
        path=path,
        sheet="Sales",
        group_by=["Region"],
        trim_header=True,
        values={"Amount": "sum", "Rep": "count"},
        target_sheet="By region",
    )
    assert summary == [
        {"Region": "North", "Amount_sum": 125.5, "Rep_count": 2},
        {"Region": "South", "Amount_sum": 50, "Rep_count": 2},
    ]
    more = value(
        "excel.summarize",
        path=path,
        sheet="Sales",
        group_by=["Region "],
        values=[
            {"column": "Amount", "function": "avg", "name": "mean"},
            {"column": "Amount", "function": "max"},
            {"column": "Amount", "function": "min"},
        ],
        target_sheet="By region",
    )
    assert more[0] == {"Region ": "North", "mean": 62.75, "Amount_max": 100, "Amount_min": 25.5}
    assert value("excel.list_sheets", path=path) == ["Sales", "By region"]
    assert value("excel.read_table", path=path, sheet="By region")[1] == {
        "Region ": "South",
        "mean": 50,
        "Amount_max": 50,
        "Amount_min": 50,
    }
    assert "no column 'Region'" in failure(
        "excel.summarize",
        path=path,
        sheet="Sales",
        group_by=["Region"],
        values={"Amount": "sum"},
        target_sheet="X",
    )
    assert "must be one of sum, count, avg, min, max" in failure(
        "excel.summarize",
        path=path,
        sheet="Sales",
        group_by=["Rep"],
        values={"Amount": "median"},
        target_sheet="X",
    )
    assert "must differ from the source" in failure(
        "excel.summarize",
        path=path,
        sheet="Sales",
        group_by=["Rep"],
        values={"Amount": "sum"},
        target_sheet="Sales",
    )


def test_legacy_xls_reads_with_types(legacy: dict[str, Path]) -> None:
    xls = str(legacy["xls"])
    assert value("excel.list_sheets", path=xls) == ["People", "Empty"]
    rows = value("excel.read_table", path=xls)
    # dates stay dates (not Excel serial numbers), whole numbers stay whole (not 10.0)
    assert rows == [
        {"Name": "Ada", "Born": "1985-12-10", "Phone": 612345678, "Score": 9.5},
        {"Name": "Alan", "Born": "1912-06-23", "Phone": 712345678, "Score": 10},
    ]
    assert isinstance(rows[1]["Score"], int)
    assert value("excel.read_table", path=xls, text_columns=["Phone"])[0]["Phone"] == "612345678"
    assert value("excel.read_table", path=xls, sheet="Empty") == []
    assert value("excel.read_cell", path=xls, cell="A2") == "Ada"
    assert value("excel.read_range", path=xls, range="A1:B2") == [
        ["Name", "Born"],
        ["Ada", "1985-12-10"],
    ]
    assert value("excel.open", path=xls)["sheets"][0] == {"name": "People", "rows": 3, "columns": 4}
    assert "cannot write the legacy .xls format" in failure(
        "excel.write_cell", output=None, path=xls, cell="A1", value=1
    )
    assert "has no sheet 'Nope'" in failure("excel.read_table", path=xls, sheet="Nope")
    for values in ({"Score": "sum"}, {"Score": "median"}):  # refused before anything is read
        assert "cannot write the legacy .xls format" in failure(
            "excel.summarize", path=xls, group_by=["Name"], values=values, target_sheet="S"
        )


def test_open_reads_an_xls_once(legacy: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import xlrd

    opened: list[str] = []
    real = xlrd.open_workbook

    def counting(filename: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(filename)
        return real(filename, *args, **kwargs)

    monkeypatch.setattr(xlrd, "open_workbook", counting)
    assert value("excel.open", path=str(legacy["xls"]))["sheets"] == [
        {"name": "People", "rows": 3, "columns": 4},
        {"name": "Empty", "rows": 0, "columns": 0},
    ]
    assert opened == [str(legacy["xls"])]


def _with_vba_project(xls: Path, target: Path) -> Path:
    """A copy of an .xls whose compound file also holds a VBA project storage
    (``_VBA_PROJECT_CUR`` with PROJECT, VBA/_VBA_PROJECT and VBA/dir streams) — project
    remnants without module code, like the file of rpaframework issue #563 that failed to open."""
    from xlrd import compdoc

    with open(os.devnull, "w") as quiet:
        workbook = compdoc.CompDoc(xls.read_bytes(), logfile=quiet).get_named_stream("Workbook")
    target.write_bytes(
        write_ole(
            {
                "Workbook": workbook,
                "_VBA_PROJECT_CUR/PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\n'
                b'Name="VBAProject"\r\n',
                "_VBA_PROJECT_CUR/PROJECTwm": b"\0\0",
                "_VBA_PROJECT_CUR/VBA/_VBA_PROJECT": bytes.fromhex("CC61FFFF000000"),
                "_VBA_PROJECT_CUR/VBA/dir": b"\x01\x00\x00",
            }
        )
    )
    return target


def test_xls_with_a_vba_project_reads(
    tmp_path: Path, legacy: dict[str, Path], lo_profile: Path
) -> None:
    vba = _with_vba_project(legacy["xls"], tmp_path / "with-vba.xls")
    assert b"_\x00V\x00B\x00A\x00_\x00P\x00R\x00O\x00J\x00E\x00C\x00T" in vba.read_bytes()
    expected = value("excel.read_table", path=str(legacy["xls"]))
    assert value("excel.read_table", path=str(vba)) == expected
    assert value("excel.list_sheets", path=str(vba)) == ["People", "Empty"]
    # the file is a valid compound document: LibreOffice opens it too
    assert _csv_of(vba, lo_profile, tmp_path / "lo")[1][0] == "Ada"


def test_run_macro_in_libreoffice(
    tmp_path: Path, legacy: dict[str, Path], lo_profile: Path
) -> None:
    book = tmp_path / "macro.ods"
    book.write_bytes(legacy["ods"].read_bytes())
    before = _helper_offices()
    assert (
        value("excel.run_macro", path=str(book), macro="Module1.Twice", args=[21], save=False) == 42
    )
    one("excel.run_macro", output=None, path=str(book), macro="Standard.Module1.Main")
    grid = _csv_of(book, lo_profile, tmp_path / "lo")
    assert grid[0] == ["name", "qty", "", "ran"]  # the macro's change was saved

    error = failure("excel.run_macro", path=str(book), macro="Module1.Nope", save=False)
    assert "macro 'Module1.Nope' in macro.ods failed" in error and "Nope" in error
    error = failure("excel.run_macro", path=str(book), macro="Other.Main", save=False)
    assert "no macro module for 'Other.Main' (modules: Standard.Module1)" in error
    assert "invalid macro name" in failure("excel.run_macro", path=str(book), macro="rm -rf")
    assert "does not exist" in failure(
        "excel.run_macro", path=str(tmp_path / "none.xlsm"), macro="M.X"
    )
    # no LibreOffice outlives its run, failed macros included
    wait_for(lambda: not (_helper_offices() - before), 20, 0.2, "LibreOffice to exit")
    assert "pywin32" in failure(
        "excel.run_macro", path=str(book), macro="Module1.Main", engine="excel"
    )


def test_run_macro_keeps_its_args_off_the_command_line(
    tmp_path: Path, legacy: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # args may be rendered secrets: any user of the machine can read a process's command line
    book = tmp_path / "macro.ods"
    book.write_bytes(legacy["ods"].read_bytes())
    commands: list[str] = []
    real = subprocess.Popen

    def recording(args: Any, *rest: Any, **kwargs: Any) -> Any:
        commands.append(" ".join(map(str, args)))
        return real(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    assert value("excel.run_macro", path=str(book), macro="Module1.Twice", args=[4321]) == 8642
    helper = [c for c in commands if "_uno_macro.py" in c]
    assert len(helper) == 1 and "4321" not in helper[0] and "Twice" not in helper[0]
    assert list(private_tmp.iterdir()) == []  # the request's folder is gone


def _helper_offices() -> set[int]:
    """LibreOffice processes started by excel.run_macro (their private profiles)."""
    found = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "soffice" in cmdline and "--accept=pipe,name=exekra-" in cmdline:
            found.add(proc.info["pid"])
    return found


def test_run_macro_timeout_kills_libreoffice(tmp_path: Path, legacy: dict[str, Path]) -> None:
    book = tmp_path / "loop.ods"
    book.write_bytes(legacy["ods"].read_bytes())
    before = _helper_offices()
    g = graph([node("n", "excel.run_macro", path=str(book), macro="Module1.Forever", save=False)])
    g["nodes"][0]["timeout"] = 12
    result, r = run(g)
    assert result.status == "FAILED" and "timed out after 12 s" in (result.error or ""), r.text()
    wait_for(lambda: not (_helper_offices() - before), 20, 0.2, "LibreOffice to be killed")


def test_run_macro_without_libreoffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = tmp_path / "m.xlsm"
    book.write_bytes(b"PK")  # never opened: the missing program is found first
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # a runner without soffice
    error = failure("excel.run_macro", path=str(book), macro="Module1.Main", engine="libreoffice")
    assert "LibreOffice is not installed on this runner (soffice not found)" in error
    assert error.endswith("install it to run macros with engine libreoffice")


def _xlsm_with_vba(path: Path, vba: bytes) -> Path:
    """A macro-enabled workbook: openpyxl's .xlsx plus xl/vbaProject.bin, its content type
    and relationship (the parts Excel writes for a workbook with macros)."""
    plain = path.with_suffix(".xlsx")
    wb = openpyxl.Workbook()
    wb.active.append(["name", "qty"])
    wb.save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"<Default ",
                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"'
                    b"/><Default ",
                    1,
                )
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
                    b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
                )
            dst.writestr(item, data)
        dst.writestr("xl/vbaProject.bin", vba)
    plain.unlink()
    return path


def test_editing_an_xlsm_keeps_its_vba_project(tmp_path: Path, lo_profile: Path) -> None:
    vba = write_ole(
        {
            "PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\nName="VBAProject"\r\n',
            "VBA/_VBA_PROJECT": bytes.fromhex("CC61FFFF000000"),
            "VBA/dir": b"\x01\x00\x00",
        }
    )
    book = _xlsm_with_vba(tmp_path / "macros.xlsm", vba)
    value("excel.write_table", path=str(book), rows=[{"name": "a", "qty": 1}], mode="append")
    one("excel.write_cell", output=None, path=str(book), cell="C1", value="checked")
    with zipfile.ZipFile(book) as zf:
        assert zf.read("xl/vbaProject.bin") == vba  # the macros survived both saves
        assert b"macroEnabled" in zf.read("[Content_Types].xml")
    assert value("excel.read_table", path=str(book)) == [{"name": "a", "qty": 1, "checked": None}]
    assert _csv_of(book, lo_profile, tmp_path / "lo")[:2] == [
        ["name", "qty", "checked"],
        ["a", "1", ""],
    ]
