"""The extension's pure helpers (scoring, dynamic-id and hashed-class detection, quoting,
anchor relations) under Node's built-in test runner: ``node --test extension/tests/``.
Run from pytest so ``make test`` runs them too."""

from __future__ import annotations

import shutil
import subprocess

from tests.support import REPO


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    assert node, "Node.js is installed by tests/system-deps.sh"
    res = subprocess.run(
        [node, "--test", "extension/tests/"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "# fail 0" in res.stdout and "# pass " in res.stdout
    passed = int(res.stdout.split("# pass ")[1].split()[0])
    assert passed >= 7, res.stdout
