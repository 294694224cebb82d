"""README "Workflows with curl" is run as written — create, save, diff, publish, export, import,
rollback, run and read the log — with bash and curl against a real ``exekra hub serve`` process
and a real ``exekra runner start``, and every output it promises (the ``# ->`` comments) is
compared with what the commands print."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from tests.support import PASSWORD, REPO, HubProcess, make_license

SECTION = "## Workflows with curl"


def readme_block() -> str:
    text = (REPO / "README.md").read_text()
    assert SECTION in text, "README lost its 'Workflows with curl' section"
    section = text.split(SECTION, 1)[1]
    m = re.search(r"```sh\n(.*?)```", section, re.S)
    assert m, "no sh block in 'Workflows with curl'"
    return m.group(1)


def expected_output(block: str) -> list[str]:
    """``# -> line`` starts an expected output line; ``#    line`` right after continues it."""
    out: list[str] = []
    in_expect = False
    for line in block.splitlines():
        if line.startswith("# -> "):
            out.append(line[5:].rstrip())
            in_expect = True
        elif in_expect and line.startswith("#    "):
            out.append(line[5:].rstrip())
        else:
            in_expect = False
    return out


def test_readme_workflow_walkthrough_runs_as_written(tmp_path, vendor_keys):
    block = readme_block()
    expected = expected_output(block)
    assert len(expected) >= 10
    env = {"EXEKRA_LICENSE_PUBLIC_KEY": str(vendor_keys[1]), "EXEKRA_BCRYPT_ROUNDS": "4"}
    hub = HubProcess(tmp_path / "data", env, tmp_path / "hub.log").start()
    runner = None
    try:
        client = httpx.Client(base_url=hub.url, timeout=10)
        assert client.post("/api/license", content=make_license(vendor_keys[0])).status_code == 200
        admin = {"email": "admin@acme.test", "password": PASSWORD, "name": "Ada"}
        assert client.post("/api/setup/admin", json=admin).status_code == 201
        login = client.post("/api/auth/login", json={"email": admin["email"], "password": PASSWORD})
        admin_auth = {"Authorization": f"Bearer {login.json()['token']}"}
        dev = {"email": "dev@acme.test", "password": PASSWORD, "name": "Dev", "role": "DEVELOPER"}
        assert client.post("/api/users", json=dev, headers=admin_auth).status_code == 201
        token = client.post(
            "/api/auth/login", json={"email": dev["email"], "password": PASSWORD}
        ).json()["token"]

        # the walkthrough ends with a run: a runner connected as "The runner agent" shows
        reg = client.post("/api/runners", json={"name": "readme"}, headers=admin_auth).json()
        runner_env = {**os.environ, "EXEKRA_RUNNER_DATA_DIR": str(tmp_path / "runner"),
                      "EXEKRA_RUNNER_KEYRING": "0"}  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "exekra", "runner", "connect", "--hub", hub.url,
             "--key", reg["machine_key"], "--secret", reg["machine_secret"]],
            env=runner_env, cwd=REPO, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        runner = subprocess.Popen(
            [sys.executable, "-m", "exekra", "runner", "start"],
            env=runner_env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        script = block.replace("HUB=http://127.0.0.1:5000", f"HUB={hub.url}")
        venv_bin = str(REPO / ".venv" / "bin")
        res = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={
                **os.environ,
                "TOKEN": token,
                "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
                "PYTHONPATH": str(REPO),
            },
            timeout=120,
        )
        assert res.returncode == 0, f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}"
        got = [line.rstrip() for line in res.stdout.splitlines()]
        assert got == expected

        # and the hub agrees with what the README says happened
        wf = client.get("/api/workflows", headers=admin_auth).json()["items"]
        assert [(w["name"], w["latest_version"], w["published_version"]) for w in wf] == [
            ("Hello", 4, 4)
        ]
        assert (tmp_path / "hello.exekra.json").read_text().startswith('{\n  "description"')
    finally:
        if runner is not None:
            runner.terminate()
            runner.wait(timeout=30)
        hub.stop()
