"""The dispatch queue on Redis: worker processes assign, and a Redis outage loses nothing.

Uses its own ``redis-server`` on a free port (the machine's Redis is shared with other
engineers and must not be stopped), a real hub process and a real ``exekra hub worker``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg2
import pytest

from tests.hub.test_dispatch_processes import Admin, FakeRunner, hub_env
from tests.support import (
    REPO,
    HubProcess,
    create_pg_database,
    drop_pg_database,
    free_port,
    make_license,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


class RedisServer:
    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        out = open(self.log, "ab")  # noqa: SIM115 - the process owns it
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        wait_for(lambda: _ping(client), timeout=10, what="redis-server up")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _ping(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def pg_url():
    url = create_pg_database("exekra_queue")
    yield url
    drop_pg_database(url)


def test_redis_worker_assigns_and_outage_loses_nothing(
    tmp_path: Path, pg_url: str, vendor_keys: tuple[Path, Path]
) -> None:
    redis_server = RedisServer(free_port(), tmp_path / "redis.log").start()
    env = hub_env(pg_url, vendor_keys[1], redis_url=redis_server.url, stale_check_interval=1)
    hub = HubProcess(tmp_path / "data", env, tmp_path / "hub.log").start()
    worker_log = open(tmp_path / "worker.log", "ab")
    worker = subprocess.Popen(
        [sys.executable, "-m", "exekra", "hub", "worker"],
        env={**os.environ, **env, "EXEKRA_DATA_DIR": str(tmp_path / "data")},
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    try:
        health = httpx.get(hub.url + "/api/health").json()
        assert health["queue"] == "redis"
        admin = Admin(hub.url).setup(make_license(vendor_keys[0], runners=5))
        wf = admin.workflow()
        runner = FakeRunner(hub.url, admin.runner("r1"))
        runner.heartbeat()
        # the runner does not poll: only the queue worker can assign this one
        first = admin.run(wf, {"n": 0})["id"]
        wait_for(
            lambda: admin.execution(first)["status"] == "ASSIGNED",
            timeout=30,
            what="worker assigns",
        )
        payload = runner.poll()
        assert payload is not None and payload["id"] == first
        runner.execute(payload)

        stop = threading.Event()
        thread = threading.Thread(target=runner.loop, args=(stop,))
        thread.start()
        created = [first]
        for i in range(1, 6):
            created.append(admin.run(wf, {"n": i})["id"])
        redis_server.stop()  # Redis dies during dispatch
        codes = []
        for i in range(6, 16):
            res = admin.http.post("/api/executions", json={"workflow_id": wf, "inputs": {"n": i}})
            codes.append(res.status_code)
            if res.status_code == 201:
                created.append(res.json()["id"])
        assert codes == [201] * 10
        assert httpx.get(hub.url + "/api/health").json()["queue"] == "degraded"
        redis_server.start()  # and comes back
        wait_for(
            lambda: httpx.get(hub.url + "/api/health").json()["queue"] == "redis",
            timeout=30,
            what="queue back on redis",
        )
        for i in range(16, 21):
            created.append(admin.run(wf, {"n": i})["id"])
        wait_for(lambda: len(runner.done) >= 21, timeout=90, what="all 21 completed")
        stop.set()
        thread.join(timeout=10)
        runs = Counter(ex for ex, _ in runner.done)
        assert set(runs) == set(created) and all(c == 1 for c in runs.values())
        assert runner.errors == []
        with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT status, COUNT(*) FROM executions GROUP BY status")
            assert dict(cur.fetchall()) == {"COMPLETED": 21}
        # after recovery the worker assigns again without a poll
        runner.heartbeat()
        late = admin.run(wf, {"n": 99})["id"]
        wait_for(
            lambda: admin.execution(late)["status"] == "ASSIGNED", timeout=30, what="worker again"
        )
        assert worker.poll() is None
        assert " 500 " not in (tmp_path / "hub.log").read_text()
    finally:
        stop_event = locals().get("stop")
        if stop_event is not None:
            stop_event.set()
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
        worker_log.close()
        hub.stop()
        redis_server.stop()
    time.sleep(0)
