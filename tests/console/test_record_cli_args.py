"""``exekra record``'s arguments fail up front with a message, never a traceback and never after
the recording: a port out of range or in use, an --out that cannot be written."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from console import record_cli

URL = "http://127.0.0.1:8000/form.html"


@pytest.fixture(autouse=True)
def no_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    def record(*args: Any) -> list[dict[str, Any]]:
        raise AssertionError("recorded although the arguments were bad")

    monkeypatch.setattr(record_cli, "_record", record)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(record_cli.record_command, ["--url", URL, "--no-browser", *args])


def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("--port", "70000", "--out", str(tmp_path / "g.json"))
    assert result.exit_code == 2 and "0<=x<=65535" in result.output
    assert not isinstance(result.exception, OverflowError)


def test_a_port_in_use_names_the_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke("--port", str(port), "--out", str(tmp_path / "g.json"))
    assert result.exit_code == 1, result.output
    assert f"port {port}" in result.output and "Traceback" not in result.output


def test_an_unwritable_out_fails_before_recording(tmp_path: Path) -> None:
    result = invoke("--out", str(tmp_path / "missing" / "g.json"))
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "file").write_text("x")
    result = invoke("--out", str(tmp_path / "file" / "g.json"))
    assert result.exit_code == 2 and "--out" in result.output
