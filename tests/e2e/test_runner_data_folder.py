"""Issue 17, item 5: one runner agent per data folder, and an outbox nothing can wedge.

A real hub (SQLite: the item touches no hub storage) and real `exekra runner start` /
`exekra runner connect` processes sharing one data folder.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.platform import Platform
from tests.support import REPO
from workflows import examples


@pytest.fixture
def platform(tmp_path: Path, vendor_keys: tuple[Path, Path]) -> Iterator[Platform]:
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], f"sqlite:///{tmp_path / 'hub.db'}")
    yield plat
    plat.close()


def _agent(p: Platform, name: str, out: Path) -> subprocess.Popen[bytes]:
    """An `exekra runner start` on runner ``name``'s data folder, its output in ``out``."""
    log = out.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "exekra", "runner", "start"],
        cwd=REPO,
        env=p.runner_env(name),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    p.runners.append(proc)  # stopped by p.close() whatever happens
    return proc


def test_second_agent_on_a_data_folder_refuses_and_a_killed_one_leaves_no_lock(
    platform: Platform, tmp_path: Path
) -> None:
    p = platform
    reg = p.connect_runner("alpha")
    data = tmp_path / "runner-alpha"
    first = _agent(p, "alpha", tmp_path / "first.out")
    p.wait_runner_status(reg["id"], "ONLINE")

    # a second agent on the same folder refuses at once, naming the first
    second = _agent(p, "alpha", tmp_path / "second.out")
    assert second.wait(timeout=60) != 0
    said = (tmp_path / "second.out").read_text()
    assert "in use by runner agent" in said and f"pid {first.pid}" in said, said
    assert "Only one runner agent may use a data folder" in said

    # `connect` does not rewrite the credentials a running agent uses
    before = (data / "credentials.enc").read_bytes()
    res = subprocess.run(
        [sys.executable, "-m", "exekra", "runner", "connect", "--hub", p.hub.url,
         "--key", reg["machine_key"], "--secret", "a-different-secret"],
        capture_output=True, text=True, cwd=REPO, env=p.runner_env("alpha"), timeout=60,
    )  # fmt: skip
    assert res.returncode != 0
    assert "in use by runner agent" in res.stderr
    assert "does not change the credentials" in res.stderr
    assert (data / "credentials.enc").read_bytes() == before

    # kill -9 leaves the lock file behind, but not the lock: a new agent starts and works
    first.kill()
    first.wait(timeout=30)
    assert (data / "runner.lock").exists()
    outbox = data / "outbox"
    (outbox / "0-1.json").write_text("{half a report")  # e.g. a disk that filled up
    (outbox / "1-1.json").symlink_to(outbox / "gone.json")  # a report that vanished
    third = _agent(p, "alpha", tmp_path / "third.out")
    wf = p.publish("hello", examples.load("hello"))
    ex = p.wait_status(p.run(wf), "COMPLETED", "FAILED", timeout=90)
    assert ex["status"] == "COMPLETED", ex
    assert third.poll() is None  # still running
    assert (outbox / "0-1.bad").exists()  # the unreadable report is set aside, not retried
    log = (tmp_path / "third.out").read_text()
    assert "Traceback" not in log and "unexpected error" not in log, log
    assert "0-1.json is unreadable" in log
