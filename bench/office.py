"""Office activities benchmark: how long the common steps take on this machine.

Run from the repository root:

    .venv/bin/python bench/office.py [--rows 20000]

1. ``excel.write_table`` / ``excel.read_table`` of ``--rows`` rows × 6 columns (openpyxl);
2. ``csv.write`` / ``csv.read`` of the same rows; ``table.filter``, ``table.sort`` and
   ``table.group`` over them;
3. ``word.fill_template`` of a one-page letter, and ``word.to_pdf`` (one headless LibreOffice
   start with a fresh profile: the fixed cost of every conversion).

It prints figures; it never fails on them (not a test).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import docx

from runner.activities import ExecutionScope, get
from runner.activities.base import Context


def _ctx() -> Context:
    return Context(node_id="bench", variables={}, log=lambda _l, _m: None, scope=ExecutionScope())


def _timed(label: str, activity: str, **params: Any) -> Any:
    start = time.perf_counter()
    result = get(activity).func(params, _ctx())
    print(f"{label:<44} {time.perf_counter() - start:8.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000, help="rows in the tables")
    args = parser.parse_args()
    day = dt.date(2024, 1, 1)
    rows = [
        {
            "id": i,
            "customer": f"C{i % 97}",
            "amount": round(i * 1.37 % 1000, 2),
            "due": (day + dt.timedelta(days=i % 365)).isoformat(),
            "status": "open" if i % 3 else "paid",
            "note": f"row {i}",
        }
        for i in range(args.rows)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        n = args.rows
        _timed(f"excel.write_table {n} rows", "excel.write_table", path=str(base / "t.xlsx"),
               rows=rows)  # fmt: skip
        back = _timed(f"excel.read_table {n} rows", "excel.read_table", path=str(base / "t.xlsx"))
        assert len(back) == n
        _timed(f"csv.write {n} rows", "csv.write", path=str(base / "t.csv"), rows=rows)
        _timed(f"csv.read {n} rows", "csv.read", path=str(base / "t.csv"), numbers=True)
        _timed(f"table.filter {n} rows", "table.filter", rows=rows,
               condition='status == "open" and amount > 500')  # fmt: skip
        _timed(f"table.sort {n} rows by 2 columns", "table.sort", rows=rows,
               by=["customer", "-amount"])  # fmt: skip
        _timed(f"table.group {n} rows", "table.group", rows=rows, by=["customer"],
               values={"amount": "sum", "id": "count"})  # fmt: skip
        doc = docx.Document()
        doc.add_paragraph("Dear {customer}, order {id} of {amount} EUR is due on {due}.")
        doc.save(str(base / "letter.docx"))
        _timed("word.fill_template (one letter)", "word.fill_template",
               path=str(base / "letter.docx"), destination=str(base / "out.docx"),
               values=rows[1])  # fmt: skip
        _timed("word.to_pdf (LibreOffice start + convert)", "word.to_pdf",
               path=str(base / "out.docx"), destination=str(base / "out.pdf"))  # fmt: skip


if __name__ == "__main__":
    main()
