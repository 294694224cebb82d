"""The example workflows (workflows/examples) run on the engine and do what they describe."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runner.engine import Status
from workflows import examples

from .enginekit import Run


def _run(example: str, **inputs: Any) -> Run:
    r = Run(examples.load(example), inputs=inputs)
    r.run()
    return r


def test_every_example_is_covered() -> None:
    covered = {
        "hello",
        "order_file",
        "python_totals",
        "split_names",
        "zip_folder",
        "http_status",
        "office_letters",
    }
    assert set(examples.names()) == covered


def test_hello() -> None:
    r = _run("hello", name="Ada")
    assert r.result.status == Status.COMPLETED, r.result.error
    assert r.messages("log") == ["Hello, Ada! / HELLO, ADA!"]


def test_order_file(tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    r = _run("order_file", inbox=str(inbox), outbox=str(outbox))
    assert r.result.status == Status.COMPLETED
    assert r.messages("missing", "error") == [f"no order file in {inbox}"]

    (inbox / "order.txt").write_text("  \n")
    r = _run("order_file", inbox=str(inbox), outbox=str(outbox))
    assert r.messages("warn", "warning") == ["empty order for ACME"]
    assert not outbox.exists()

    (inbox / "order.txt").write_text("3 x A-1\n")
    r = _run("order_file", inbox=str(inbox), outbox=str(outbox), customer="Globex")
    assert r.result.status == Status.COMPLETED, r.result.error
    assert (outbox / "Globex.txt").read_text() == "3 x A-1\n"


def test_python_totals() -> None:
    r = _run("python_totals")
    assert r.result.status == Status.COMPLETED, r.result.error
    assert r.result.variables["summary"] == {"total": 17.5, "count": 2}
    assert r.messages("approve", "warning") == ["2 lines, total 17.5: needs approval"]
    r = _run("python_totals", limit=100)
    assert r.messages("fine") == ["2 lines, total 17.5"]


def test_split_names() -> None:
    r = _run("split_names")
    assert r.result.status == Status.COMPLETED, r.result.error
    assert [m for m in r.messages("log_one", "debug") if m.startswith("name")] == [
        "name 0: Ada Lovelace",
        "name 1: Alan Turing",
        "name 2: Grace Hopper",
    ]
    assert r.result.variables["joined"] == " ada lovelace , alan turing,grace hopper "


def test_zip_folder(tmp_path: Path) -> None:
    folder, archive = tmp_path / "reports", tmp_path / "archive"
    folder.mkdir()
    r = _run("zip_folder", folder=str(folder), archive_dir=str(archive))
    assert r.messages("nothing", "warning") == [f"{folder} is empty; nothing to pack"]
    (folder / "q1.csv").write_text("a,b\n")
    r = _run("zip_folder", folder=str(folder), archive_dir=str(archive))
    assert r.result.status == Status.COMPLETED, r.result.error
    with zipfile.ZipFile(archive / "reports.zip") as zf:
        assert zf.read("q1.csv") == b"a,b\n"


class _Status(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        code = int(self.path.strip("/") or 200)
        body = b'{"ok": true}'
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def status_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_status(status_server: str) -> None:
    r = _run("http_status", url=f"{status_server}/200")
    assert r.messages("up") == [f"{status_server}/200 answered 200"]
    r = _run("http_status", url=f"{status_server}/503")
    assert r.messages("down", "warning") == [f'{status_server}/503 answered 503: {{"ok": true}}']
    r = _run("http_status", url="http://127.0.0.1:1/")
    assert r.result.status == Status.COMPLETED
    assert r.messages("unreachable", "error") == ["cannot reach http://127.0.0.1:1/"]
