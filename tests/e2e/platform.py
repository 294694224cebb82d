"""A real platform for end-to-end tests: a hub process, runner processes, an HTTP client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support import ADMIN_EMAIL, PASSWORD, REPO, HubProcess, make_license, wait_for

#: short intervals so stale handling takes seconds, not minutes
FAST_HUB_ENV = {
    "EXEKRA_BCRYPT_ROUNDS": "4",
    "EXEKRA_RUNNER_OFFLINE_AFTER": "3",
    "EXEKRA_STALE_CHECK_INTERVAL": "1",
    "EXEKRA_ASSIGNED_GRACE": "2",
    "EXEKRA_RUNNING_GRACE": "2",
    "EXEKRA_SCHEDULER_INTERVAL": "1",
    "EXEKRA_RATE_LIMIT_PER_MINUTE": "100000",
}
FAST_RUNNER_ENV = {
    "EXEKRA_RUNNER_HEARTBEAT_INTERVAL": "1",
    "EXEKRA_RUNNER_POLL_INTERVAL": "0.3",
    "EXEKRA_RUNNER_METRICS_INTERVAL": "0.3",
    "EXEKRA_RUNNER_LOG_FLUSH_INTERVAL": "0.3",
    "EXEKRA_RUNNER_BACKOFF_MAX": "1",
    "EXEKRA_RUNNER_SHUTDOWN_GRACE": "10",
}


class Platform:
    def __init__(
        self,
        tmp: Path,
        private_key: Path,
        public_key: Path,
        db_url: str,
        hub_env: dict[str, str] | None = None,
    ) -> None:
        self.tmp = tmp
        env = {
            **FAST_HUB_ENV,
            **(hub_env or {}),
            "EXEKRA_LICENSE_PUBLIC_KEY": str(public_key),
            "EXEKRA_DATABASE_URL": db_url,
        }
        self.hub = HubProcess(tmp / "hub-data", env, tmp / "hub.log").start()
        self.http = httpx.Client(base_url=self.hub.url, timeout=20)
        self.runners: list[subprocess.Popen[bytes]] = []
        try:
            res = self.http.post("/api/license", content=make_license(private_key, runners=10))
            assert res.status_code == 200, res.text
            res = self.http.post(
                "/api/setup/admin", json={"email": ADMIN_EMAIL, "password": PASSWORD, "name": "A"}
            )
            assert res.status_code == 201, res.text
            token = self.http.post(
                "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
            ).json()["token"]
        except BaseException:  # a fixture that fails half-way must not leave its hub running
            self.close()
            raise
        self.http.headers["Authorization"] = f"Bearer {token}"

    # -- hub side ------------------------------------------------------------------------
    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, **kw)

    def publish(self, name: str, graph: dict[str, Any]) -> int:
        res = self.api("POST", "/api/workflows", json={"name": name, "graph": graph})
        assert res.status_code == 201, res.text
        wf = res.json()["id"]
        res = self.api("POST", f"/api/workflows/{wf}/publish")
        assert res.status_code == 200, res.text
        return wf

    def run(self, workflow_id: int, **body: Any) -> int:
        res = self.api("POST", "/api/executions", json={"workflow_id": workflow_id, **body})
        assert res.status_code in (200, 201), res.text
        return res.json()["id"]

    def execution(self, exec_id: int) -> dict[str, Any]:
        return self.api("GET", f"/api/executions/{exec_id}").json()

    def wait_status(self, exec_id: int, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            ex = self.execution(exec_id)
            return ex if ex["status"] in statuses else None

        return wait_for(done, timeout, 0.2, f"execution {exec_id} in {statuses}")

    def logs(self, exec_id: int) -> list[dict[str, Any]]:
        return self.api("GET", f"/api/executions/{exec_id}/logs").json()["items"]

    # -- runners -------------------------------------------------------------------------
    def register_runner(self, name: str) -> dict[str, Any]:
        res = self.api("POST", "/api/runners", json={"name": name})
        assert res.status_code == 201, res.text
        return res.json()

    def runner_env(self, name: str) -> dict[str, str]:
        return {
            **os.environ,
            **FAST_RUNNER_ENV,
            "EXEKRA_RUNNER_DATA_DIR": str(self.tmp / f"runner-{name}"),
            "EXEKRA_RUNNER_KEYRING": "0",
        }

    def connect_runner(self, name: str) -> dict[str, Any]:
        reg = self.register_runner(name)
        res = subprocess.run(
            [sys.executable, "-m", "exekra", "runner", "connect", "--hub", self.hub.url,
             "--key", reg["machine_key"], "--secret", reg["machine_secret"]],
            capture_output=True, text=True, cwd=REPO, env=self.runner_env(name), timeout=60,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        return reg

    def start_runner(self, name: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"runner-{name}.out", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "exekra", "runner", "start"],
            cwd=REPO,
            env={**self.runner_env(name), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.runners.append(proc)
        return proc

    def wait_runner_status(self, runner_id: int, status: str, timeout: float = 30) -> None:
        wait_for(
            lambda: self.api("GET", f"/api/runners/{runner_id}").json()["status"] == status,
            timeout,
            0.2,
            f"runner {runner_id} {status}",
        )

    def runner_log(self, name: str) -> str:
        path = self.tmp / f"runner-{name}.out"
        return path.read_text() if path.exists() else ""

    def close(self) -> None:
        for proc in self.runners:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.http.close()
        self.hub.stop()


def delay_graph(seconds: float) -> dict[str, Any]:
    return {
        "format": 1,
        "variables": {},
        "nodes": [
            {"id": "hello", "type": "log.write", "params": {"message": "starting"}},
            {"id": "wait", "type": "flow.delay", "params": {"seconds": seconds}},
            {"id": "bye", "type": "log.write", "params": {"message": "finished"}},
        ],
        "edges": [{"from": "hello", "to": "wait"}, {"from": "wait", "to": "bye"}],
    }
