"""Issue 17, items 8 and 9 end to end: a real hub with a vault credential, a real
`exekra runner start` whose data folder lies outside /tmp, a workflow that transforms the
secret and a script that tries to steal the runner's identity.

Nothing the hub stores (logs, the execution's error) may show any form of the secret, and the
script — sandboxed because the runner's settings say so — finds the data folder empty.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.platform import Platform
from tests.runner.test_secret_taint import leaks
from tests.support import REPO

SECRET = "Erp-Vault-Pa55word"  # noqa: S105 - a test value

STEAL = """
import os
read = []
for name in ("secret.key", "credentials.enc"):
    try:
        open(os.path.join(data, name), "rb").read()
        read.append(name + ": READ")
    except OSError as exc:
        read.append(name + ": " + type(exc).__name__)
print("reversed", pw[::-1])
print(" | ".join(read))
result = {"rev": pw[::-1], "read": read}
"""


@pytest.fixture
def platform(tmp_path: Path, vendor_keys: tuple[Path, Path]) -> Iterator[Platform]:
    plat = Platform(tmp_path, vendor_keys[0], vendor_keys[1], f"sqlite:///{tmp_path / 'hub.db'}")
    yield plat
    plat.close()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="exekra-e2e-runner-", dir="/var/tmp"))  # noqa: S108
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_runner_keeps_secrets_and_its_identity_from_workflows(
    platform: Platform, data_dir: Path
) -> None:
    p = platform
    reg = p.register_runner("iso")
    env = {**p.runner_env("iso"), "EXEKRA_RUNNER_DATA_DIR": str(data_dir)}
    res = subprocess.run(
        [sys.executable, "-m", "exekra", "runner", "connect", "--hub", p.hub.url,
         "--key", reg["machine_key"], "--secret", reg["machine_secret"]],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (data_dir / "secret.key").exists() and (data_dir / "credentials.enc").exists()
    p.start_runner("iso", env={"EXEKRA_RUNNER_DATA_DIR": str(data_dir)})
    p.wait_runner_status(reg["id"], "ONLINE")

    res = p.api("POST", "/api/credentials", json={"name": "erp", "secret": SECRET})
    assert res.status_code == 201, res.text
    graph = {
        "format": 1,
        "variables": {},
        "nodes": [
            {"id": "up", "type": "text.case", "params": {"text": "{{credential}}",
             "case": "upper", "credential": "erp", "output": "up"}},
            {"id": "steal", "type": "script.python", "params": {"code": STEAL, "inputs":
             {"pw": "{{credential}}", "data": str(data_dir)}, "credential": "erp",
             "output": "out"}},
            {"id": "say", "type": "log.write",
             "params": {"message": "up={up} rev={out.rev} read={out.read}"}},
            {"id": "fail", "type": "file.read", "params": {"path": "/nonexistent/{up}.txt",
             "output": "x"}},
        ],
        "edges": [{"from": "up", "to": "steal"}, {"from": "steal", "to": "say"},
                  {"from": "say", "to": "fail"}],
    }  # fmt: skip
    ex = p.wait_status(p.run(p.publish("steal", graph)), "COMPLETED", "FAILED", timeout=90)
    assert ex["status"] == "FAILED" and ex["failed_node"] == "fail", ex
    logs = p.logs(ex["id"])
    text = json.dumps(logs) + json.dumps(ex)
    assert not leaks(text, SECRET), leaks(text, SECRET)
    messages = [line["message"] for line in logs]
    assert "secret.key: FileNotFoundError | credentials.enc: FileNotFoundError" in messages
    assert any(m.startswith("up=*** rev=***") for m in messages), messages
    runner_log = (data_dir / "runner.log").read_text()
    assert not leaks(runner_log, SECRET)
    assert not leaks(runner_log, reg["machine_secret"])
