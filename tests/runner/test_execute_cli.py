"""``exekra runner execute``: a workflow file run locally (a real process), its artifacts
saved in a folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import REPO


def execute(tmp_path: Path, graph: dict, *args: str) -> subprocess.CompletedProcess[str]:
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(graph))
    return subprocess.run(
        [sys.executable, "-m", "exekra", "runner", "execute", str(wf), *args],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip


def test_artifacts_land_in_the_folder_and_failures_exit_1(tmp_path: Path) -> None:
    report = tmp_path / "r.txt"
    graph = {
        "format": 1,
        "variables": {},
        "nodes": [
            {"id": "w", "type": "file.write", "params": {"path": str(report), "content": "{v}"}},
            {"id": "a", "type": "file.attach", "params": {"path": str(report), "output": "x"}},
            {"id": "b", "type": "file.attach",
             "params": {"path": str(report), "name": "../../escape\u0007.txt"}},
            {"id": "boom", "type": "file.read", "params": {"path": "/nonexistent", "output": "y"}},
        ],
        "edges": [{"from": "w", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "boom"}],
    }  # fmt: skip
    res = execute(tmp_path, graph, "--input", "v=[1, 2]", "--artifacts", "out")
    assert res.returncode == 1, res.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["001-r.txt", "002-escape.txt"]
    assert (out / "001-r.txt").read_text() == "[1, 2]"
    assert not (tmp_path.parent / "escape.txt").exists()
    assert f"artifact: {out / '001-r.txt'} (file, 6 bytes)" in res.stdout
    assert "[a] attached r.txt (6 bytes) to the execution" in res.stdout
    assert res.stdout.strip().splitlines()[-1].startswith("FAILED: node 'boom'")


def test_a_completed_run_exits_0_with_the_default_folder(tmp_path: Path) -> None:
    graph = {
        "format": 1,
        "variables": {},
        "nodes": [{"id": "hi", "type": "log.write", "params": {"message": "hello {who}"}}],
        "edges": [],
    }
    res = execute(tmp_path, {"name": "export", "graph": graph}, "--input", "who=world")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "[hi] hello world" in res.stdout and res.stdout.strip().endswith("COMPLETED")
    assert not (tmp_path / "exekra-artifacts").exists()  # nothing produced, nothing made
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = subprocess.run(
        [sys.executable, "-m", "exekra", "runner", "execute", str(bad)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert res.returncode != 0 and "cannot read" in res.stderr
