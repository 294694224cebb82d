"""Issue 17, item 9: scripts cannot steal the runner's identity or outlive their node.

Real bubblewrap (tests/system-deps.sh installs it), real child interpreters, a real runner data
folder written by the runner's own SecretStore. Folders shared with the script live under
/var/tmp: the sandbox gives scripts a private /tmp, so pytest's tmp_path is invisible to them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.activities import sandbox
from runner.activities.base import RunnerPolicy
from runner.engine import Status
from runner.secrets_store import ENC_FILE, KEY_FILE, SecretStore
from runner.settings import RunnerSettings

from .enginekit import Run, graph, node

MACHINE_SECRET = "3f9c1d7e5b2a4c6e8d0f1a3b5c7d9e1f"  # noqa: S105 - a test value


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder outside /tmp that both this test and the script can see."""
    path = Path(tempfile.mkdtemp(prefix="exekra-sandbox-test-", dir="/var/tmp"))  # noqa: S108
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def runner_data(shared: Path) -> RunnerSettings:
    """A runner data folder with the encrypted credential file and its key, as `connect`
    leaves it on a machine without a keyring."""
    settings = RunnerSettings(data_dir=str(shared / "runner-data"))
    SecretStore(settings.data_path, use_keyring=False).save("FC-TEST", MACHINE_SECRET)
    assert (settings.data_path / KEY_FILE).exists() and (settings.data_path / ENC_FILE).exists()
    return settings


def _run(code: str, policy: RunnerPolicy, **params: Any) -> tuple[Any, Run]:
    r = Run(graph([node("s", "script.python", code=code, output="out", **params)]), policy=policy)
    result = r.run()
    return result, r


STEAL = r"""
import os
found = {}
for name in ("secret.key", "credentials.enc", "runner-config.json"):
    try:
        with open(os.path.join(data, name), "rb") as fh:
            found[name] = fh.read().decode("latin-1")
    except OSError as exc:
        found[name] = type(exc).__name__
procs = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            procs.append(open(f"/proc/{pid}/cmdline", "rb").read().decode("latin-1"))
        except OSError:
            pass
open(script_file, "w").write("x")
result = {
    "found": found,
    "listing": os.listdir(data) if os.path.isdir(data) else None,
    "pytest_visible": any("pytest" in c for c in procs),
    "host_tmp_visible": os.path.exists(host_file),
    "env": sorted(k for k in os.environ if k.startswith("EXEKRA_RUNNER")),
}
"""


def test_script_cannot_read_the_runner_credentials_or_key(runner_data: RunnerSettings) -> None:
    assert sandbox.bwrap_problem() is None  # bubblewrap works on this machine
    data = runner_data.data_path
    key = (data / KEY_FILE).read_bytes().decode()
    script_file = Path(tempfile.gettempdir(), f"exekra-from-script-{os.getpid()}-{time.time_ns()}")
    with tempfile.NamedTemporaryFile("w", prefix="exekra-host-", dir="/tmp") as host_file:  # noqa: S108
        inputs = {"data": str(data), "host_file": host_file.name, "script_file": str(script_file)}
        result, r = _run(STEAL, runner_data.activity_policy(), inputs=inputs)
    leaked = script_file.exists()
    script_file.unlink(missing_ok=True)
    assert result.status == Status.COMPLETED, r.text()
    out = result.variables["out"]
    assert set(out["found"].values()) == {"FileNotFoundError"}, out["found"]
    assert out["listing"] == []  # the data folder is an empty folder inside the sandbox
    assert key not in r.text() and MACHINE_SECRET not in r.text()
    assert out["pytest_visible"] is False  # /proc shows only the sandbox: not the runner
    assert out["host_tmp_visible"] is False  # a private /tmp ...
    assert not leaked  # ... in both directions
    assert (data / KEY_FILE).read_bytes().decode() == key  # untouched


DOUBLE_FORK = r"""
import fcntl, os, sys, time
child = os.fork()
if child == 0:
    os.setsid()  # leaves the script's session and process group
    if os.fork() == 0:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held for as long as this process lives
        open(ready, "w").write("locked")
        time.sleep(120)
        open(late, "w").write("outlived its node")
    os._exit(0)
os.waitpid(child, 0)
while not os.path.exists(ready):
    time.sleep(0.02)
if linger:
    time.sleep(120)  # the node's timeout ends it
result = "forked"
"""


def _lock_released(path: Path, within: float = 15.0) -> bool:
    """True once nobody holds ``path``'s lock (the kernel drops it when its holder dies)."""
    deadline = time.monotonic() + within
    fd = os.open(path, os.O_RDWR)
    try:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                time.sleep(0.05)
        return False
    finally:
        os.close(fd)


@pytest.mark.parametrize("mode", ["auto", "off"])
@pytest.mark.parametrize("linger", [False, True], ids=["script-ends", "node-times-out"])
def test_double_forked_child_does_not_outlive_the_node(
    shared: Path, mode: str, linger: bool
) -> None:
    lock, ready, late = shared / "lock", shared / "ready", shared / "late"
    params = {"lock": str(lock), "ready": str(ready), "late": str(late), "linger": linger}
    result, r = _run(
        DOUBLE_FORK, RunnerPolicy(script_sandbox=mode), inputs=params, timeout=3 if linger else 60
    )
    if linger:
        assert result.status == Status.FAILED and "timed out" in (result.error or ""), r.text()
    else:
        assert result.status == Status.COMPLETED, r.text()
    assert ready.exists()  # the grandchild did start and take the lock
    assert _lock_released(lock), "the double-forked grandchild is still alive"
    assert not late.exists()


def test_without_bubblewrap_auto_warns_and_require_refuses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    sandbox.bwrap_problem.cache_clear()
    try:
        result, r = _run("result = 6 * 7", RunnerPolicy(script_sandbox="auto"))
        assert result.status == Status.COMPLETED and result.variables["out"] == 42
        warning = " ".join(r.messages("s", "warning"))
        assert "WITHOUT a sandbox" in warning and "bubblewrap (bwrap) is not installed" in warning
        assert "script_sandbox" in warning

        result, r = _run("result = 1", RunnerPolicy(script_sandbox="require"))
        assert result.status == Status.FAILED
        assert "was not run" in (result.error or "") and "'require'" in (result.error or "")
    finally:
        sandbox.bwrap_problem.cache_clear()


def test_script_sandbox_setting_is_validated(tmp_path: Path) -> None:
    from runner.settings import RunnerConfigError

    with pytest.raises(RunnerConfigError, match="script_sandbox must be one of auto, require"):
        RunnerSettings(data_dir=str(tmp_path), script_sandbox="sometimes").activity_policy()
    with pytest.raises(RunnerConfigError, match="zip_max_ratio must be a positive number"):
        RunnerSettings(data_dir=str(tmp_path), zip_max_ratio=0).activity_policy()


def test_an_interpreter_installed_under_tmp_stays_visible_inside_the_sandbox(
    tmp_path: Path,
) -> None:
    """The sandbox's /tmp is private, but a runner installed under /tmp (a CI checkout and its
    venv) must still find its interpreter: what the command needs is bound read-only."""
    import subprocess

    from runner.activities.base import Context

    assert sandbox.bwrap_problem() is None, "bubblewrap is installed by tests/system-deps.sh"
    assert tmp_path.is_relative_to("/tmp")
    tool = tmp_path / "venv" / "bin" / "tool.sh"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\necho inside\n")
    tool.chmod(0o755)
    private = tmp_path / "elsewhere.txt"
    private.write_text("not for scripts")
    work = tmp_path / "work"
    work.mkdir()
    ctx = Context(node_id="n", variables={}, log=lambda level, message: None)
    launch = sandbox.prepare([str(tool)], str(work), ctx)
    assert launch.sandboxed
    out = subprocess.run(launch.command, env=launch.env, capture_output=True, text=True)
    assert out.stdout.strip() == "inside", out.stderr
    # the rest of the host's /tmp stays out of reach (a path the script itself opens)
    launch = sandbox.prepare(["sh", "-c", f"cat {private}"], str(work), ctx)
    out = subprocess.run(launch.command, env=launch.env, capture_output=True, text=True)
    assert out.returncode != 0 and "not for scripts" not in out.stdout
