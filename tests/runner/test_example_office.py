"""The office_letters example (Excel → Word letters → PDFs → merged PDF, CSV and slide) runs
on the engine and does what it describes; every output is opened by a second reader."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

from runner.engine import Status
from tests.office import convert, pdftotext
from workflows import examples

from .enginekit import Run


def make_office_inputs(base: Path) -> dict[str, Any]:
    """An orders workbook (header names with stray spaces, as people type them) and a letter
    template with a placeholder split across runs; returns the example's inputs."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "customer ", "amount", "status"])
    ws.append(["A-1", "ACME", 120.5, "open"])
    ws.append(["A-2", "Globex", 80, "paid"])
    ws.append(["A-3", "ACME", 30, "open"])
    ws.append(["A-4", "Initech", 5, "open"])
    wb.save(base / "orders.xlsx")
    doc = docx.Document()
    p = doc.add_paragraph("Dear ")
    p.add_run("{cust").bold = True
    p.add_run("omer}, order {id} of {amount} EUR is still open.")
    doc.save(str(base / "letter.docx"))
    return {
        "workbook": str(base / "orders.xlsx"),
        "template": str(base / "letter.docx"),
        "outdir": str(base / "out"),
    }


def check_office_outputs(out: Path, profile: Path) -> None:
    letters = sorted(p.name for p in (out / "letters").glob("*.pdf"))
    assert letters == ["A-1.pdf", "A-3.pdf", "A-4.pdf"]
    merged = pdftotext(out / "letters.pdf")
    assert "Dear ACME, order A-1 of 120.5 EUR is still open." in merged
    assert "Dear Initech, order A-4 of 5 EUR is still open." in merged
    assert "Globex" not in merged
    with (out / "summary.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert list(csv.reader(fh)) == [
            ["customer", "amount_sum", "id_count"],
            ["ACME", "150.5", "2"],
            ["Initech", "5", "1"],
        ]
    (slide_pdf,) = convert([out / "summary.pptx"], "pdf", out / "lo", profile)
    seen = pdftotext(slide_pdf)
    assert "Open orders" in seen and "3 letters printed" in seen


@pytest.mark.timeout(240)
def test_office_letters(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    inputs = make_office_inputs(tmp_path)
    r = Run(examples.load("office_letters"), inputs=inputs)
    r.run()
    assert r.result.status == Status.COMPLETED, (r.result.error, r.text())
    assert r.messages("done") == [f"3 letters for {inputs['outdir']}"]
    check_office_outputs(Path(inputs["outdir"]), tmp_path_factory.mktemp("lo-profile"))
