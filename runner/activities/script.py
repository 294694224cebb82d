"""``script.python`` and ``script.javascript``: user code in a child process.

The code, its ``inputs`` and the place for the result travel through files in a private
temporary folder (not the command line, so nothing leaks into the process list). The child's
standard output and error become log lines as they are written. On Linux the child runs in a
bubblewrap sandbox where one works (see :mod:`runner.activities.sandbox`: no access to the
runner's data folder, a private ``/tmp``); a stop request, the node's deadline, the script's
``timeout`` or simply its end kills the script and everything it started.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from . import sandbox
from .base import ActivityError, Context, StopRequested, Timeout, activity, number, text

#: longest line of script output copied into the log
MAX_LOG_LINE = 10_000

_PYTHON_BOOTSTRAP = r"""
import json, sys, traceback
workdir = sys.argv[1]
with open(workdir + "/payload.json", encoding="utf-8") as fh:
    payload = json.load(fh)
namespace = {"__name__": "__main__"}
namespace.update(payload["inputs"])
def finish(data, code):
    with open(workdir + "/result.json", "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    sys.stdout.flush()
    sys.exit(code)
try:
    code = compile(payload["code"], "script.py", "exec")
    exec(code, namespace)
except SystemExit as exc:
    if exc.code not in (None, 0):
        finish({"error": "the script exited with status %s" % (exc.code,)}, 1)
except BaseException:
    etype, value, tb = sys.exc_info()
    lines = traceback.format_exception(etype, value, tb.tb_next if tb else None)
    finish({"error": "".join(lines).strip()}, 1)
try:
    data = json.dumps({"result": namespace.get("result")})
except (TypeError, ValueError) as exc:
    finish({"error": "result is not JSON-serialisable: %s" % exc}, 1)
with open(workdir + "/result.json", "w", encoding="utf-8") as fh:
    fh.write(data)
"""

_JS_BOOTSTRAP = r"""
const fs = require('fs');
const path = require('path');
const workdir = process.argv[1];
const payload = JSON.parse(fs.readFileSync(path.join(workdir, 'payload.json'), 'utf8'));
const names = Object.keys(payload.inputs);
const finish = (data, code) => {
  fs.writeFileSync(path.join(workdir, 'result.json'), JSON.stringify(data));
  process.exitCode = code;
};
let fn;
try {
  const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
  fn = new AsyncFunction(...names, 'require',
    payload.code + '\n;return typeof result === "undefined" ? null : result;');
} catch (e) {
  finish({error: String(e && e.stack || e)}, 1);
}
if (fn) {
  fn(...names.map((n) => payload.inputs[n]), require).then((value) => {
    let data;
    try {
      data = JSON.stringify({result: value === undefined ? null : value});
    } catch (e) {
      finish({error: 'result is not JSON-serialisable: ' + e.message}, 1);
      return;
    }
    fs.writeFileSync(path.join(workdir, 'result.json'), data);
  }, (e) => finish({error: String(e && e.stack || e)}, 1));
}
"""

_JS_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_JS_RESERVED = frozenset(
    "break case catch class const continue debugger default delete do else export extends "
    "false finally for function if import in instanceof new null return super switch this "
    "throw true try typeof var void while with yield let static enum await implements package "
    "protected interface private public require arguments eval".split()
)


def _inputs(params: dict[str, Any], valid: Any) -> dict[str, Any]:
    inputs = params.get("inputs")
    if inputs in (None, ""):
        return {}
    if not isinstance(inputs, dict):
        raise ActivityError(f"param 'inputs' must be an object, got {type(inputs).__name__}")
    for name in inputs:
        if not valid(name):
            raise ActivityError(f"input name {name!r} is not a valid variable name for the script")
    try:
        json.dumps(inputs)
    except (TypeError, ValueError) as exc:
        raise ActivityError(f"inputs are not JSON-serialisable: {exc}") from None
    return inputs


def _pump(stream: Any, level: str, ctx: Context) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if len(line) > MAX_LOG_LINE:
            line = line[:MAX_LOG_LINE] + " …"
        ctx.log(level, line)
    stream.close()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the script and everything it started."""
    if proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # Windows: the whole tree by PID
            subprocess.run(  # noqa: S603 - fixed command, our child's PID
                ["taskkill", "/F", "/T", "/PID", str(proc.pid)],  # noqa: S607
                capture_output=True,
                check=False,
            )
    except (ProcessLookupError, PermissionError, OSError):
        pass
    if proc.poll() is None:
        proc.kill()


def _run(command: list[str], code: str, inputs: dict[str, Any], limit: float, ctx: Context) -> Any:
    with tempfile.TemporaryDirectory(prefix="exekra-script-") as workdir:
        Path(workdir, "payload.json").write_text(
            json.dumps({"code": code, "inputs": inputs}), encoding="utf-8"
        )
        launch = sandbox.prepare([*command, workdir], workdir, ctx)
        ctx.check()
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and bootstrap
                launch.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=launch.env,
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            raise ActivityError(f"cannot start {command[0]}: {exc.strerror or exc}") from None
        job = sandbox.windows_job(proc)
        ctx.track(proc)
        pumps = [
            threading.Thread(target=_pump, args=(proc.stdout, "info", ctx), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, "warning", ctx), daemon=True),
        ]
        for t in pumps:
            t.start()
        end = time.monotonic() + limit
        try:
            while True:
                try:
                    proc.wait(timeout=0.05)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if ctx.cancelled():
                    _kill(proc)
                    ctx.check()
                    raise StopRequested("cancelled")
                if time.monotonic() >= end:
                    _kill(proc)
                    raise ActivityError(f"script timed out after {limit:g} s and was killed")
        except (StopRequested, Timeout):
            _kill(proc)
            raise
        finally:
            # everything the script started ends with the node, double-forked daemons too
            sandbox.sweep(proc, launch, job)
            proc.wait()
            ctx.untrack(proc)
            for t in pumps:
                t.join(timeout=2)
        result_file = Path(workdir, "result.json")
        if not result_file.exists():
            raise ActivityError(f"script ended (exit status {proc.returncode}) without a result")
        data = json.loads(result_file.read_text(encoding="utf-8"))
        if "error" in data:
            raise ActivityError(f"script failed: {data['error']}")
        return data.get("result")


def _limit(params: dict[str, Any]) -> float:
    limit = number(params, "timeout", 300)
    if limit <= 0:
        raise ActivityError("param 'timeout' must be positive")
    return limit


@activity("script.python")
def python(params: dict[str, Any], ctx: Context) -> Any:
    code = text(params, "code")
    inputs = _inputs(params, lambda n: n.isidentifier() and not keyword.iskeyword(n))
    command = [sys.executable, "-u", "-c", _PYTHON_BOOTSTRAP]
    return _run(command, code, inputs, _limit(params), ctx)


def node_executable() -> str:
    found = shutil.which("node") or shutil.which("nodejs")
    if found is None:
        raise ActivityError("Node.js is not installed on this runner (no 'node' on PATH)")
    return found


@activity("script.javascript")
def javascript(params: dict[str, Any], ctx: Context) -> Any:
    code = text(params, "code")
    inputs = _inputs(params, lambda n: bool(_JS_IDENTIFIER.match(n)) and n not in _JS_RESERVED)
    command = [node_executable(), "-e", _JS_BOOTSTRAP]
    return _run(command, code, inputs, _limit(params), ctx)
