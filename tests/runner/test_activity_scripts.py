"""``script.python`` (child ``sys.executable``) and ``script.javascript`` (real Node.js)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from runner.activities.base import RunnerPolicy
from runner.engine import Status

from .enginekit import Run, chain, failure, graph, node, value

LANGS = ["script.python", "script.javascript"]

CODE = {
    "script.python": {
        "sum": "result = {'total': sum(r['qty'] for r in rows), 'who': name.upper()}",
        "print": "print('hello from', name)\nimport sys\nprint('careful', file=sys.stderr)\n"
        "result = None",
        "raise": "raise ValueError('bad row 3')",
        "unserialisable": "result = object()",
        "spin": "import os\nopen(marker, 'w').write(str(os.getpid()))\nwhile True:\n    pass",
        "syntax": "def (:",
    },
    "script.javascript": {
        "sum": "result = {total: rows.reduce((a, r) => a + r.qty, 0), who: name.toUpperCase()};",
        "print": "console.log('hello from', name); console.error('careful');",
        "raise": "throw new Error('bad row 3');",
        "unserialisable": "const a = {}; a.self = a; result = a;",
        "spin": "require('fs').writeFileSync(marker, String(process.pid)); while (true) {}",
        "syntax": "function (",
    },
}


@pytest.mark.parametrize("lang", LANGS)
def test_inputs_in_result_out(lang: str) -> None:
    out = value(
        lang, code=CODE[lang]["sum"], inputs={"rows": [{"qty": 2}, {"qty": 5}], "name": "acme"}
    )
    assert out == {"total": 7, "who": "ACME"}


def test_javascript_await_and_declared_result() -> None:
    code = "const x = await Promise.resolve(20);\nlet result = x + n;"
    assert value("script.javascript", code=code, inputs={"n": 1}) == 21


def test_python_result_defaults_to_none() -> None:
    assert value("script.python", code="x = 1") is None


@pytest.mark.parametrize("lang", LANGS)
def test_output_goes_to_the_log(lang: str) -> None:
    r = Run(chain(node("s", lang, code=CODE[lang]["print"], inputs={"name": "bot"})))
    result = r.run()
    assert result.status == Status.COMPLETED, result.error
    assert "hello from bot" in r.messages("s", "info")
    assert "careful" in r.messages("s", "warning")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("case", "expected"),
    [("raise", "bad row 3"), ("unserialisable", "not JSON-serialisable"), ("syntax", "Syntax")],
)
def test_script_errors_are_clear(lang: str, case: str, expected: str) -> None:
    error = failure(lang, code=CODE[lang][case])
    assert "script failed" in error and expected in error


@pytest.mark.parametrize("lang", LANGS)
def test_bad_input_names_are_refused(lang: str) -> None:
    assert "not a valid variable name" in failure(lang, code="x", inputs={"a-b": 1})


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _pid(marker: Path) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text():
            return int(marker.read_text())
        time.sleep(0.02)
    raise AssertionError("the script never started")


#: these tests watch the script's own pid and files in pytest's /tmp, so they run the script
#: outside the sandbox (a private /tmp, its own PID namespace): the fallback must kill too.
#: tests/runner/test_script_sandbox.py covers the same inside the sandbox.
UNSANDBOXED = RunnerPolicy(script_sandbox="off")


def _unsandboxed_failure(n: dict[str, Any]) -> str:
    r = Run(graph([n]), policy=UNSANDBOXED)
    result = r.run()
    assert result.status == Status.FAILED, r.text()
    return result.error or ""


@pytest.mark.parametrize("lang", LANGS)
def test_timeout_param_kills_the_script(lang: str, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    t0 = time.monotonic()
    error = _unsandboxed_failure(
        node("n", lang, code=CODE[lang]["spin"], inputs={"marker": str(marker)}, timeout=1)
    )
    assert "timed out after 1 s" in error
    assert time.monotonic() - t0 < 20
    assert _wait_gone(_pid(marker))


@pytest.mark.parametrize("lang", LANGS)
def test_stop_kills_the_script(lang: str, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    stop = threading.Event()
    r = Run(
        graph([node("s", lang, code=CODE[lang]["spin"], inputs={"marker": str(marker)})]),
        stop_event=stop,
        policy=UNSANDBOXED,
    )
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.setdefault("result", r.run()))
    t.start()
    pid = _pid(marker)
    stop.set()
    t.join(15)
    assert box["result"].status == Status.STOPPED
    assert _wait_gone(pid)


def test_grandchildren_are_killed_too(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', "
        "'import os,time\\nopen(%r, \"w\").write(str(os.getpid()))\\ntime.sleep(60)' % marker])\n"
        "p.wait()\n"
    )
    error = _unsandboxed_failure(
        node("n", "script.python", code=code, inputs={"marker": str(marker)}, timeout=1.5)
    )
    assert "timed out" in error
    assert _wait_gone(_pid(marker))


def test_missing_node_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without node on it
    assert "Node.js is not installed" in failure("script.javascript", code="result = 1")
