"""csv.* on real files (read back by LibreOffice as a second reader) and table.* on rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.office import convert

from .enginekit import chain, failure, node, run, value

ROWS = [
    {"id": 1, "name": "Ada", "region": "North", "total": 120.5, "phone": "0612"},
    {"id": 2, "name": "bob", "region": "South", "total": 80, "phone": "0713"},
    {"id": 3, "name": "Cy", "region": "North", "total": None, "phone": ""},
    {"id": 4, "name": "Dee", "region": "South", "total": 300, "phone": "0914"},
]


def test_csv_write_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out" / "rows.csv"
    assert value("csv.write", path=str(path), rows=ROWS) == 4
    assert path.read_bytes().startswith(b"id,name,region,total,phone\r\n1,Ada,North,120.5,0612")
    back = value("csv.read", path=str(path))
    assert back[0] == {
        "id": "1",
        "name": "Ada",
        "region": "North",
        "total": "120.5",
        "phone": "0612",
    }
    typed = value("csv.read", path=str(path), numbers=True)
    assert typed[0]["id"] == 1 and typed[0]["total"] == 120.5
    assert typed[0]["phone"] == "0612"  # leading zero: stays text
    assert typed[2]["total"] == ""
    value("csv.write", path=str(path), rows=[{"id": 5, "name": "Eve"}], mode="append")
    assert value("csv.read", path=str(path))[-1]["name"] == "Eve"
    assert path.read_text().count("id,name") == 1  # no second header


def test_csv_bom_delimiter_dialect_encoding(tmp_path: Path) -> None:
    excel = tmp_path / "excel.csv"
    excel.write_bytes("\ufeffNr;Stadt;Betrag\r\n1;Köln;3,50\r\n".encode())
    assert value("csv.read", path=str(excel), delimiter=";") == [
        {"Nr": "1", "Stadt": "Köln", "Betrag": "3,50"}
    ]
    assert value("csv.read", path=str(excel), dialect="auto")[0]["Stadt"] == "Köln"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a\tb\n\xe9\t2\n".encode("latin-1"))
    assert "as utf-8-sig" in failure("csv.read", path=str(latin))
    assert value("csv.read", path=str(latin), encoding="latin-1", dialect="excel-tab") == [
        {"a": "é", "b": "2"}
    ]
    assert value(
        "csv.read", path=str(latin), encoding="latin-1", dialect="excel-tab", header=False
    ) == [
        ["a", "b"],
        ["é", "2"],
    ]
    bom = tmp_path / "bom.csv"
    value("csv.write", path=str(bom), rows=[["x", "ü"]], header=False, encoding="utf-8-sig")
    assert bom.read_bytes() == b"\xef\xbb\xbfx,\xc3\xbc\r\n"
    assert "cannot read CSV file" in failure("csv.read", path=str(tmp_path / "none.csv"))
    assert "one character" in failure("csv.read", path=str(excel), delimiter=";;")
    assert "dialect' must be one of" in failure("csv.read", path=str(excel), dialect="word")


def test_csv_formulas_escaped_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    rows = [{"a": "=HYPERLINK(1)", "b": "-5", "c": "@SUM(1)"}]
    value("csv.write", path=str(path), rows=rows, escape_formulas=True)
    assert path.read_text().splitlines()[1] == "'=HYPERLINK(1),-5,'@SUM(1)"


def test_csv_libreoffice_reads_what_we_write(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path / "quotes.csv"
    rows = [{"text": 'say "hi", then\nleave', "n": 3}, {"text": "plain", "n": 4}]
    value("csv.write", path=str(path), rows=rows)
    profile = tmp_path_factory.mktemp("lo-profile")
    (ods,) = convert([path], "ods", tmp_path / "ods", profile)
    (again,) = convert([ods], "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path / "csv", profile)
    with again.open(encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh)) == [
            ["text", "n"],
            ['say "hi", then\nleave', "3"],
            ["plain", "4"],
        ]


def test_filter_sort_group_columns() -> None:
    kept = value("table.filter", rows=ROWS, condition='total > 100 and region == "North"')
    assert [r["id"] for r in kept] == [1]
    by_row = value("table.filter", rows=ROWS, condition='lower(row["name"]) == "bob"')
    assert [r["id"] for r in by_row] == [2]
    assert [r["id"] for r in value("table.sort", rows=ROWS, by=["-total"])] == [4, 1, 2, 3]
    assert [r["id"] for r in value("table.sort", rows=ROWS, by=["region", "-id"])] == [3, 1, 4, 2]
    assert [r["name"] for r in value("table.sort", rows=ROWS, by="name")] == [
        "Ada",
        "bob",
        "Cy",
        "Dee",
    ]
    groups = value("table.group", rows=ROWS, by=["region"], values={"total": "sum", "id": "count"})
    assert groups == [
        {"region": "North", "total_sum": 120.5, "id_count": 2},
        {"region": "South", "total_sum": 380, "id_count": 2},
    ]
    plain = value("table.group", rows=ROWS, by="region")
    assert [len(g["rows"]) for g in plain] == [2, 2] and plain[0]["region"] == "North"
    assert value("table.columns", rows=ROWS[:1], columns={"id": "ID", "name": "Name"}) == [
        {"ID": 1, "Name": "Ada"}
    ]


def test_table_errors_name_the_cause() -> None:
    assert "rows[1] must be an object" in failure("table.sort", rows=[{"a": 1}, 5], by=["a"])
    assert "on rows[0]" in failure("table.filter", rows=[{"a": 1}], condition="nope > 1")
    assert "is not a number" in failure(
        "table.group", rows=[{"k": 1, "v": "x"}], by=["k"], values={"v": "sum"}
    )
    assert "must be one of sum" in failure(
        "table.group", rows=[{"k": 1}], by=["k"], values={"v": "median"}
    )
    assert "list of column names" in failure("table.sort", rows=[], by=[])


def test_filter_sees_workflow_variables_in_a_chain(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("name,total\nA,5\nB,50\nC,500\n")
    g = chain(
        node("read", "csv.read", path=str(src), numbers=True, output="rows"),
        node("big", "table.filter", rows="{rows}", condition="total >= limit", output="big"),
        node("save", "csv.write", path=str(tmp_path / "big.csv"), rows="{big}"),
        variables={"limit": 50},
    )
    result, r = run(g)
    assert result.status == "COMPLETED", r.text()
    assert (tmp_path / "big.csv").read_bytes() == b"name,total\r\nB,50\r\nC,500\r\n"
