"""LibreOffice headless conversions (HTML, Word, PowerPoint → PDF) for the document
activities: one ``soffice --convert-to`` per call with a private temporary profile, so
parallel executions never share one; the process group is killed on a stop request, the
node's deadline or the timeout."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .base import ActivityError, Context


def soffice(purpose: str = "convert documents to PDF") -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise ActivityError(
            f"LibreOffice is not installed on this runner (soffice not found); install it to "
            f"{purpose}"
        )
    return found


def convert(
    source: Path,
    fmt: str,
    destination: Path,
    ctx: Context,
    timeout: float,
    infilter: str | None = None,
) -> Path:
    """Convert ``source`` to ``fmt`` (e.g. ``pdf``) and move the result to ``destination``;
    ``infilter`` forces how the source is read (HTML as a Writer document, not Writer/Web,
    whose PDF export drops the first paragraph)."""
    program = soffice()
    limit = ctx.remaining(timeout) or timeout
    with tempfile.TemporaryDirectory(prefix="exekra-lo-") as tmp:
        work = Path(tmp)
        profile = work / "profile"
        outdir = work / "out"
        done = run(
            [
                program,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--nolockcheck",
                *([f"--infilter={infilter}"] if infilter else []),
                "--convert-to",
                fmt,
                "--outdir",
                str(outdir),
                str(source),
            ],
            ctx,
            limit,
            f"LibreOffice did not finish the conversion within {limit:g} s",
        )
        ctx.check()
        produced = outdir / f"{source.stem}.{fmt.split(':', 1)[0]}"
        if not produced.is_file():
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise ActivityError(
                f"LibreOffice could not convert {source.name} to {fmt}"
                + (f": {' '.join(said)[-300:]}" if said else "")
            )
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(produced), destination)
    return destination


def run(
    argv: list[str], ctx: Context, limit: float, timeout_message: str
) -> subprocess.CompletedProcess[bytes]:
    """Run a program in a process group of its own and collect its output; the whole group
    (oosplash's soffice.bin, a helper's LibreOffice) is killed however the run ended, and on
    a stop request, the node's deadline or after ``limit`` seconds (see ``_wait``)."""
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    ctx.track(proc)
    try:
        out, err = _wait(proc, ctx, limit, timeout_message)
    finally:
        ctx.untrack(proc)
        _kill_group(proc)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _wait(
    proc: subprocess.Popen[bytes], ctx: Context, limit: float, timeout_message: str
) -> tuple[bytes, bytes]:
    """The process's stdout and stderr (what of them is piped); its whole process group dies
    on a stop request, the node's deadline or after ``limit`` seconds (then
    ``timeout_message`` is the error)."""
    end = time.monotonic() + limit
    while True:
        try:
            out, err = proc.communicate(timeout=0.2)
            return out or b"", err or b""
        except subprocess.TimeoutExpired:
            pass
        if ctx.cancelled() or time.monotonic() > end:
            _kill_group(proc)
            ctx.check()
            raise ActivityError(timeout_message)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process's group (started with ``start_new_session``), or the process where
    there are no process groups (Windows)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        if proc.poll() is None:
            proc.kill()
    proc.wait()
