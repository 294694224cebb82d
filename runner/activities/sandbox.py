"""Where script activities run, and how everything they start is ended.

**Linux with bubblewrap** (``bwrap``, Debian package ``bubblewrap``): the script runs in new PID
and IPC namespaces with the host's file system, except that

* the runner's data folder (its key file, encrypted credentials, outbox, config) and the user's
  runtime folder (``$XDG_RUNTIME_DIR``: the D-Bus socket a keyring answers on) are replaced by
  empty folders, so the script cannot read the runner's identity;
* ``/tmp`` is a fresh private tmpfs holding only the script's own work folder (and, read-only,
  the interpreter and packages the script runs with when the runner is installed under
  ``/tmp``);
* ``/proc`` shows only the sandbox's processes (no reading the runner's memory or environment).

Network access is kept: automations call services. When the script ends, or the node is
stopped or times out, the sandbox's PID namespace ends and the kernel kills every process in
it, including double-forked daemons that left the script's session.

**Elsewhere** (no bwrap, or namespaces not allowed, macOS): the script runs as the runner's user
with the same rights; with ``script_sandbox = "auto"`` the node's log says so in a warning, with
``"require"`` the node fails instead. Its descendants are still swept when the node ends: every
process in the script's process group or session, or carrying the node's marker in its
environment, is killed (a process that both leaves the session and clears its environment
escapes this sweep; only the sandbox stops that).

**Windows**: the script is put in a Job Object with ``KILL_ON_JOB_CLOSE`` (pywin32), so every
descendant dies with the node; there is no file-system isolation. This path cannot be tested
on the Linux CI machines.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import psutil

from .base import ActivityError, Context

#: environment variable that marks every process a script node starts (for the sweep)
MARKER_ENV = "EXEKRA_SCRIPT_RUN"
#: environment variables never passed to a script (the runner's own configuration)
_SCRUBBED_PREFIXES = ("EXEKRA_",)
_SCRUBBED = frozenset({"DBUS_SESSION_BUS_ADDRESS"})


@dataclass(frozen=True)
class Launch:
    """How to start one script: the full command, its environment, and what isolates it."""

    command: list[str]
    env: dict[str, str]
    marker: str
    sandboxed: bool
    #: when the launch was prepared (``time.time()``): descendants cannot be older
    started: float = field(default_factory=time.time)


@lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """Why the bubblewrap sandbox cannot be used here (None: it works). Probed once."""
    if not sys.platform.startswith("linux"):
        return f"no sandbox is available on {sys.platform}"
    path = shutil.which("bwrap")
    if path is None:
        return "bubblewrap (bwrap) is not installed"
    true = shutil.which("true") or "/bin/true"
    probe = [path, "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
             "--die-with-parent", "--", true]  # fmt: skip
    try:
        done = subprocess.run(probe, capture_output=True, timeout=20, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap cannot start ({exc})"
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        return f"bwrap cannot create namespaces here ({detail})"
    return None


def _environment(marker: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)
    }
    env.update(PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1", TMPDIR="/tmp")  # noqa: S108
    env[MARKER_ENV] = marker
    return env


def _hidden(ctx: Context) -> list[str]:
    # only existing folders: bwrap would create a missing mount point on the host (/ is bound)
    hidden = [p for p in ctx.policy.protected_paths if p and p != "/" and Path(p).is_dir()]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        hidden.append(runtime)
    return hidden


def _needed_under_tmp(command: list[str]) -> list[str]:
    """What the script's interpreter needs that lives under ``/tmp`` (a runner installed
    there, as a CI checkout is): the Python prefixes, the packages' root and the absolute paths
    on the command line. They are bound read-only on top of the private ``/tmp``."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).parents[2])}
    candidates |= {arg for arg in command if arg.startswith("/")}
    found: set[Path] = set()
    for candidate in candidates:
        for path in (Path(candidate), Path(candidate).resolve()):
            if path.is_relative_to("/tmp") and path.exists():  # noqa: S108
                found.add(path)
    # a path inside another one already bound needs no bind of its own
    return sorted(str(p) for p in found if not any(p != q and p.is_relative_to(q) for q in found))


def _bwrap_command(bwrap: str, command: list[str], workdir: str, ctx: Context) -> list[str]:
    args = [bwrap, "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp"]  # fmt: skip  # noqa: S108 - the sandbox's own /tmp
    for path in _needed_under_tmp(command):
        args += ["--ro-bind", path, path]
    hidden = _hidden(ctx)
    for path in hidden:
        args += ["--tmpfs", path]
    args += ["--bind", workdir, workdir]
    cwd = os.getcwd()
    inside_hidden = any(Path(cwd).is_relative_to(h) for h in hidden)
    if inside_hidden or Path(cwd).is_relative_to("/tmp"):  # noqa: S108
        args += ["--chdir", workdir]
    args += ["--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session", "--"]
    return args + command


def prepare(command: list[str], workdir: str, ctx: Context) -> Launch:
    """The launch of ``command`` under the runner's ``script_sandbox`` setting."""
    marker = secrets.token_hex(8)
    env = _environment(marker)
    mode = ctx.policy.script_sandbox
    if mode == "off":
        return Launch(command, env, marker, sandboxed=False)
    problem = bwrap_problem()
    if problem is None:
        bwrap = shutil.which("bwrap") or "bwrap"
        return Launch(_bwrap_command(bwrap, command, workdir, ctx), env, marker, sandboxed=True)
    if sys.platform == "win32":  # pragma: no cover - Windows only: a Job Object, no sandbox
        problem = "Windows has no file-system sandbox for scripts (a Job Object ends them)"
    if mode == "require":
        raise ActivityError(
            f"the script was not run: {problem}, and the runner's script_sandbox setting is "
            "'require'. Install bubblewrap (Debian/Ubuntu: apt install bubblewrap) or set "
            "script_sandbox to 'auto'."
        )
    ctx.log(
        "warning",
        f"the script runs WITHOUT a sandbox: {problem}. It can read and change everything the "
        "runner's user can, including the runner's data folder. Install bubblewrap (apt "
        "install bubblewrap), or set script_sandbox to 'require' to refuse unsandboxed scripts.",
    )
    return Launch(command, env, marker, sandboxed=False)


# -- ending everything a script started -----------------------------------------------------


def sweep(proc: subprocess.Popen[bytes], launch: Launch, job: Any = None) -> int:
    """Kill the script and every process it started; returns how many were killed.

    The sandbox's PID namespace ends with its first process; the sweep by process group,
    session and marker covers unsandboxed runs (and is harmless after a sandboxed one)."""
    if job is not None:  # pragma: no cover - Windows only
        _terminate_job(job)
    killed = 0
    if proc.poll() is None:
        _kill_group(proc.pid)
        if proc.poll() is None:
            proc.kill()
        killed += 1
    if os.name != "posix":  # pragma: no cover - Windows: the Job Object did it
        return killed
    _kill_group(proc.pid)  # members left when the leader has exited
    if launch.sandboxed:
        # the sandbox's PID namespace ended with bwrap's init: the kernel killed (and waited
        # for) every process in it before bwrap's exit reached us
        return killed
    for _ in range(5):  # a forking process can add children while we sweep
        found = _descendants(proc.pid, launch.marker, launch.started)
        if not found:
            break
        for p in found:
            try:
                p.kill()
                killed += 1
            except psutil.Error:
                pass
        try:
            psutil.wait_procs(found, timeout=2)
        except psutil.Error:
            pass
        time.sleep(0.05)
    return killed


def _kill_group(pgid: int) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _descendants(sid: int, marker: str, started: float) -> list[psutil.Process]:
    """Processes of this user, started since the script, in its session or carrying its
    marker. Linux reads ``/proc`` directly (a few ms); elsewhere psutil walks the table."""
    if Path("/proc/self/environ").exists():
        found = []
        for pid in _proc_descendants(sid, marker):
            try:
                found.append(psutil.Process(pid))
            except psutil.Error:  # ended meanwhile
                continue
        return found
    me, uid = os.getpid(), os.getuid()
    found = []
    for p in psutil.process_iter():  # pragma: no cover - macOS and other Unixes
        if p.pid == me:
            continue
        try:
            if p.uids().real != uid or p.create_time() < started - 1:
                continue
            if os.getsid(p.pid) == sid or p.environ().get(MARKER_ENV) == marker:
                found.append(p)
        except (psutil.Error, OSError):
            continue
    return found


def _start_ticks(pid: int) -> int:
    """When ``pid`` started, in clock ticks since boot (the kernel's own clock: immune to the
    wall clock being set)."""
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return int(stat.rsplit(b")", 1)[1].split()[19])


def _proc_descendants(sid: int, marker: str) -> list[int]:
    me, uid = os.getpid(), os.getuid()
    needle = f"{MARKER_ENV}={marker}".encode()
    try:
        oldest = _start_ticks(sid)  # the script itself (a zombie until we wait for it)
    except (OSError, ValueError, IndexError):
        oldest = 0
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in (me, sid):
            continue
        pid = int(entry.name)
        try:
            if entry.stat().st_uid != uid or _start_ticks(pid) < oldest:
                continue  # another user's, or older than the script: not its descendant
            if os.getsid(pid) == sid or needle in Path(f"/proc/{pid}/environ").read_bytes():
                found.append(pid)
        except (OSError, ValueError, IndexError):
            continue
    return found


def windows_job(proc: subprocess.Popen[bytes]) -> Any:  # pragma: no cover - Windows only
    """Put the script in a Job Object that kills every process in it when closed."""
    if sys.platform != "win32":
        return None
    try:
        import win32api
        import win32con
        import win32job
    except ImportError:
        return None
    job = win32job.CreateJobObject(None, "")
    info = win32job.QueryInformationJobObject(job, win32job.JobObjectExtendedLimitInformation)
    info["BasicLimitInformation"]["LimitFlags"] |= win32job.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    win32job.SetInformationJobObject(job, win32job.JobObjectExtendedLimitInformation, info)
    access = win32con.PROCESS_SET_QUOTA | win32con.PROCESS_TERMINATE
    handle = win32api.OpenProcess(access, False, proc.pid)
    win32job.AssignProcessToJobObject(job, handle)
    return job


def _terminate_job(job: Any) -> None:  # pragma: no cover - Windows only
    import win32job

    try:
        win32job.TerminateJobObject(job, 1)
    except Exception:  # noqa: BLE001, S110 - the job may be gone already
        pass
