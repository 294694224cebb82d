"""The command line answers a user error with one clear line on stderr and exit status 2,
never a traceback, and the steps it prints are the ones that work (first-hour polish)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.platform import Platform
from tests.support import REPO

pytestmark = pytest.mark.e2e


def exekra(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EXEKRA_RUNNER_DATA")}
    return subprocess.run(
        [sys.executable, "-m", "exekra", *args],
        capture_output=True, text=True, cwd=REPO, env={**base, **(env or {})}, timeout=120,
    )  # fmt: skip


def one_clear_line(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert "Traceback" not in res.stderr and ".." not in lines[0]
    return lines[0]


def test_hub_errors_are_one_line(tmp_path: Path) -> None:
    line = one_clear_line(exekra("hub", "init", "--data-dir", "/proc/nope"))
    assert "/proc/nope" in line and "--data-dir" in line
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "never-made"
        line = one_clear_line(exekra("hub", "serve", "--port", str(port), "--data-dir", str(data)))
        assert f"127.0.0.1:{port}" in line and "--port" in line
        assert not data.exists()  # nothing created before the port was found taken
    line = one_clear_line(exekra("hub", "serve", "--bogus"))
    assert "--bogus" in line and "exekra hub serve --help" in line


def test_runner_connect_errors_are_one_line(tmp_path: Path) -> None:
    env = {"EXEKRA_RUNNER_DATA_DIR": str(tmp_path / "r")}
    line = one_clear_line(
        exekra(
            "runner",
            "connect",
            "--hub",
            "127.0.0.1:5000",
            "--key",
            "FC-1",
            "--secret",
            "s",
            env=env,
        )  # fmt: skip
    )
    assert "http://" in line and "protocol.." not in line
    line = one_clear_line(
        exekra(
            "runner",
            "connect",
            "--hub",
            "http://127.0.0.1:1",
            "--key",
            "FC-1",
            "--secret",
            "s",
            env=env,
        )  # fmt: skip
    )
    assert "cannot reach the hub" in line


def test_connect_prints_the_start_command_that_works_and_next_steps_say_what_is_left(
    tmp_path: Path, vendor_keys: tuple[Path, Path]
) -> None:
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], f"sqlite:///{tmp_path / 'hub.db'}")
    runner = None
    try:
        reg = plat.register_runner("custom")
        folder = tmp_path / "my runner"
        res = exekra("runner", "connect", "--hub", plat.hub.url, "--key", reg["machine_key"],
                     "--secret", reg["machine_secret"], "--data-dir", str(folder))  # fmt: skip
        assert res.returncode == 0, res.stderr
        command = res.stdout.split("start it with `", 1)[1].split("`", 1)[0]
        assert "--data-dir" in command
        # the printed command, as a user pastes it, starts the runner
        runner = subprocess.Popen(
            ["bash", "-c", f"exec {Path(sys.executable).parent}/{command}"],
            cwd=REPO,
            env={k: v for k, v in os.environ.items() if not k.startswith("EXEKRA_RUNNER_")},
        )
        plat.wait_runner_status(reg["id"], "ONLINE")

        # the hub is licensed and has its admin (Platform did both): the steps say so
        env = {"EXEKRA_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"}
        res = exekra("hub", "next-steps", "--data-dir", str(tmp_path / "hub-data"), env=env)
        assert res.returncode == 0, res.stderr
        assert "First run done" in res.stdout
        assert "license issue" not in res.stdout and "setup/admin" not in res.stdout
        assert "Runners, then n" in res.stdout
    finally:
        if runner is not None:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=30)
        plat.close()


def test_next_steps_on_a_fresh_hub_list_every_step_with_the_license_in_the_data_folder(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    assert exekra("hub", "init", "--data-dir", str(data)).returncode == 0
    res = exekra("hub", "next-steps", "--data-dir", str(data), "--demo-vendor", str(tmp_path))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Next steps:" in out and "First run done" not in out
    assert f"--out {data / 'exekra.lic'}" in out and f"@{data / 'exekra.lic'}" in out
    assert "setup/admin" in out and "Runners, then n" in out


def test_license_files_are_not_committed_by_accident() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "exekra.lic"], cwd=REPO, capture_output=True
    )
    assert ignored.returncode == 0
