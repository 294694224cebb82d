"""``exekra console`` on the command line: help, and a clear error for a bad --hub."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exekra", "console", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


class TestConsoleCommand:
    def test_help(self):
        res = run("--help")
        assert res.returncode == 0
        assert "--hub" in res.stdout and "EXEKRA_TOKEN" in res.stdout

    def test_bad_hub_url_is_a_usage_error(self):
        res = run("--hub", "ftp://example")
        assert res.returncode == 2
        assert "--hub must be an http:// or https:// URL" in res.stderr
