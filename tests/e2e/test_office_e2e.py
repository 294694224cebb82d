"""The office chain on a real hub and a real `exekra runner start` process: the office_letters
example (excel.*, table.*, word.*, pdf.*, csv.*, powerpoint.*) published, run over HTTP and
its outputs checked with pdftotext and LibreOffice; a bad input fails with a clear node error.
SQLite only: the database is not what this test is about."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.platform import Platform
from tests.runner.test_example_office import check_office_outputs, make_office_inputs
from workflows import examples


@pytest.fixture
def platform(tmp_path, vendor_keys):
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], f"sqlite:///{tmp_path / 'hub.db'}")
    yield plat
    plat.close()


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_office_letters_on_a_real_runner(platform, tmp_path: Path, tmp_path_factory) -> None:
    p = platform
    reg = p.connect_runner("office")
    p.start_runner("office")
    p.wait_runner_status(reg["id"], "ONLINE")
    data = tmp_path / "data"
    data.mkdir()
    inputs = make_office_inputs(data)
    wf = p.publish("office_letters", examples.load("office_letters"))

    ex = p.wait_status(p.run(wf, inputs=inputs), "COMPLETED", "FAILED", timeout=240)
    assert ex["status"] == "COMPLETED", (ex, p.runner_log("office")[-3000:])
    assert any(line["message"] == f"3 letters for {inputs['outdir']}" for line in p.logs(ex["id"]))
    check_office_outputs(Path(inputs["outdir"]), tmp_path_factory.mktemp("lo-profile"))

    # a missing sheet file fails the first node with a message naming the file
    bad = {**inputs, "workbook": str(data / "missing.xlsx")}
    ex = p.wait_status(p.run(wf, inputs=bad), "COMPLETED", "FAILED", timeout=60)
    assert ex["status"] == "FAILED" and ex["failed_node"] == "read"
    assert "workbook does not exist" in ex["error"] and "missing.xlsx" in ex["error"]
