"""``exekra runner execute`` runs with the runner's settings (its activity policy), as
``exekra runner start`` does: not with built-in defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _execute(tmp_path: Path, config: dict, graph: dict, *args: str) -> subprocess.CompletedProcess:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "runner-config.json").write_text(json.dumps(config))
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(graph))
    env = {**os.environ, "EXEKRA_RUNNER_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "exekra", "runner", "execute", str(wf), *args],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip


def _zip_graph(tmp_path: Path) -> dict:
    big = tmp_path / "big.txt"
    big.write_text("x" * 50_000)
    archive, out = tmp_path / "big.zip", tmp_path / "out"
    nodes = [
        {"id": "pack", "type": "zip.compress",
         "params": {"source": str(big), "destination": str(archive)}},
        {"id": "unpack", "type": "zip.extract",
         "params": {"source": str(archive), "destination": str(out)}},
    ]  # fmt: skip
    return {
        "format": 1,
        "variables": {},
        "nodes": nodes,
        "edges": [{"from": "pack", "to": "unpack"}],
    }


def test_the_runner_settings_limit_a_local_run(tmp_path: Path) -> None:
    res = _execute(tmp_path, {"zip_max_extract_mb": 0.01}, _zip_graph(tmp_path))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "zip_max_extract_mb" in res.stdout, res.stdout


def test_the_data_dir_option_names_the_settings(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "runner-config.json").write_text("{}")
    res = _execute(
        tmp_path, {"zip_max_extract_mb": 0.01}, _zip_graph(tmp_path), "--data-dir", str(other)
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_bad_runner_settings_are_a_usage_error(tmp_path: Path) -> None:
    res = _execute(tmp_path, {"script_sandbox": "sometimes"}, _zip_graph(tmp_path))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "script_sandbox must be one of" in res.stderr
