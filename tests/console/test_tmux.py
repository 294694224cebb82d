"""``exekra console`` in a real terminal (tmux, 80×24): sign in, navigate, read the screen."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.support import ADMIN_EMAIL, PASSWORD, REPO

# tmux is installed by tests/system-deps.sh (make test); without it this test fails, not skips.
assert shutil.which("tmux"), "tmux is missing: run `make test` (tests/system-deps.sh installs it)"


class Tmux:
    def __init__(self, tmp: Path) -> None:
        # a socket in the test's own folder: nothing left behind in /tmp/tmux-UID
        self.socket = str(tmp / f"tmux-{uuid.uuid4().hex[:6]}.sock")
        self.session = "console"

    def run(self, *args: str) -> str:
        res = subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        assert res.returncode == 0, res.stderr
        return res.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared on the screen:\n{shown}")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", self.session, *(["-l"] if literal else []), *keys)
        time.sleep(0.3)  # a person types; key bursts would arrive as one paste

    def kill(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)


class TestRealTerminal:
    def test_sign_in_navigate_read_screen(self, live_hub, tmp_path):
        home = tmp_path / "console-home"
        env = {
            "EXEKRA_CONSOLE_DIR": str(home),
            "TERM": "xterm-256color",
            "PYTHONPATH": str(REPO),
        }
        command = " ".join(
            [
                "env -u EXEKRA_TOKEN",
                *[f"{k}={v}" for k, v in env.items()],
                sys.executable,
                "-m exekra console --hub",
                live_hub.url,
            ]
        )
        tmux = Tmux(tmp_path)
        tmux.run("new-session", "-d", "-s", tmux.session, "-x", "80", "-y", "24", command)
        try:
            tmux.wait_for("Sign in to Exekra")
            tmux.keys(ADMIN_EMAIL, literal=True)
            tmux.keys("Enter")
            tmux.keys(PASSWORD, literal=True)
            tmux.keys("Enter")
            shown = tmux.wait_for("Executions per hour")
            assert "Exekra · Dashboard" in shown and "admin@acme.test" in shown
            lines = shown.splitlines()
            assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
            tmux.keys("4")
            shown = tmux.wait_for("Register")  # an ADMIN is offered registration
            assert "Exekra · Runners" in shown
            tmux.keys("?")
            shown = tmux.wait_for("Administrators register a runner")
            tmux.keys("Escape")
            tmux.keys("7")
            shown = tmux.wait_for("dev@acme.test")
            assert "DEVELOPER" in shown and "OPERATOR" in shown
            tmux.keys("C-q")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                res = subprocess.run(
                    ["tmux", "-S", tmux.socket, "has-session", "-t", tmux.session],
                    capture_output=True,
                )
                if res.returncode != 0:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("the console did not quit on ctrl+q:\n" + tmux.screen())
        finally:
            tmux.kill()
        session_file = home / "console-session.json"
        assert stat.S_IMODE(os.stat(session_file).st_mode) == 0o600
        assert live_hub.url in session_file.read_text()
