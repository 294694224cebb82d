"""Dispatch against real hub processes on a real PostgreSQL.

- 20 concurrent runner clients (half of them chained with ``next``) polling against 300 queued
  executions: each runs exactly once.
- Two hub processes sweeping the same database: a vanished runner's work is re-queued once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest

from tests.hub.test_runners_support import GRAPH
from tests.support import (
    ADMIN_EMAIL,
    PASSWORD,
    HubProcess,
    create_pg_database,
    drop_pg_database,
    make_license,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


def hub_env(db_url: str, public_key: Path, **settings: Any) -> dict[str, str]:
    env = {
        "EXEKRA_DATABASE_URL": db_url,
        "EXEKRA_LICENSE_PUBLIC_KEY": str(public_key),
        "EXEKRA_BCRYPT_ROUNDS": "4",
        "EXEKRA_RATE_LIMIT_PER_MINUTE": "1000000",
        "EXEKRA_THREADS": "16",
        "EXEKRA_LOG_LEVEL": "WARNING",
    }
    for key, value in settings.items():
        env["EXEKRA_" + key.upper()] = str(value)
    return env


class Admin:
    """A user-side HTTP client of a running hub."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.token = ""

    def setup(self, license_text: str) -> Admin:
        assert self.http.post("/api/license", content=license_text).status_code == 200
        res = self.http.post(
            "/api/setup/admin", json={"email": ADMIN_EMAIL, "password": PASSWORD, "name": "A"}
        )
        assert res.status_code == 201, res.text
        return self.login()

    def login(self) -> Admin:
        res = self.http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
        assert res.status_code == 200, res.text
        self.token = res.json()["token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        return self

    def workflow(self, name: str = "Fleet") -> int:
        res = self.http.post(
            "/api/workflows", json={"name": name, "description": "", "graph": GRAPH}
        )
        assert res.status_code == 201, res.text
        wf = res.json()["id"]
        assert self.http.post(f"/api/workflows/{wf}/publish", json={}).status_code == 200
        return wf

    def runner(self, name: str) -> dict:
        res = self.http.post("/api/runners", json={"name": name})
        assert res.status_code == 201, res.text
        return res.json()

    def run(self, wf: int, inputs: dict) -> dict:
        res = self.http.post("/api/executions", json={"workflow_id": wf, "inputs": inputs})
        assert res.status_code == 201, res.text
        return res.json()

    def execution(self, execution_id: int) -> dict:
        res = self.http.get(f"/api/executions/{execution_id}")
        assert res.status_code == 200, res.text
        return res.json()


class FakeRunner:
    """A runner agent reduced to its HTTP conversation: poll, RUNNING, COMPLETED. ``chained``:
    the final report asks for the next execution (``next: true``), as the real agent does."""

    def __init__(self, url: str, creds: dict, chained: bool = False) -> None:
        self.chained = chained
        self.handed: dict | None = None  # the execution the last final report handed over
        self.handed_over = 0
        self.http = httpx.Client(base_url=url, timeout=30)
        res = self.http.post(
            "/api/runner/authenticate",
            json={"machine_key": creds["machine_key"], "machine_secret": creds["machine_secret"]},
        )
        assert res.status_code == 200, res.text
        self.http.headers["Authorization"] = f"Bearer {res.json()['token']}"
        self.done: list[tuple[int, int]] = []
        self.errors: list[str] = []

    def heartbeat(self) -> dict:
        res = self.http.post("/api/runner/heartbeat", json={"cpu": 1.0, "memory": 2.0, "disk": 3.0})
        assert res.status_code == 200, res.text
        return res.json()

    def poll(self) -> dict | None:
        res = self.http.get("/api/runner/poll")
        if res.status_code == 204:
            return None
        if res.status_code != 200:
            self.errors.append(f"poll {res.status_code} {res.text}")
            return None
        return res.json()["execution"]

    def execute(self, payload: dict) -> None:
        ex, attempt = payload["id"], payload["attempt"]
        for status in ("RUNNING", "COMPLETED"):
            body = {
                "attempt": attempt,
                "status": status,
                "logs": [{"seq": 0 if status == "RUNNING" else 1, "message": status}],
            }
            if self.chained and status == "COMPLETED":
                body["next"] = True
            res = self.http.post(f"/api/runner/executions/{ex}/status", json=body)
            if res.status_code != 200:
                self.errors.append(f"{status} {ex}: {res.status_code} {res.text}")
                return
        self.done.append((ex, attempt))
        self.handed = res.json().get("next")

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if self.handed is not None:
                self.handed_over += 1
            payload, self.handed = self.handed or self.poll(), None
            if payload is None:
                time.sleep(0.02)
                continue
            self.execute(payload)


@pytest.fixture
def pg_url():
    url = create_pg_database("exekra_fleet")
    yield url
    drop_pg_database(url)


def test_twenty_runners_three_hundred_executions_each_exactly_once(
    tmp_path: Path, pg_url: str, vendor_keys: tuple[Path, Path]
) -> None:
    env = hub_env(pg_url, vendor_keys[1])
    hub = HubProcess(tmp_path / "data", env, tmp_path / "hub.log").start()
    try:
        admin = Admin(hub.url).setup(make_license(vendor_keys[0], runners=25))
        wf = admin.workflow()
        # half of them chained (final report with next: true), half polling for every one
        runners = [
            FakeRunner(hub.url, admin.runner(f"r{i:02d}"), chained=i % 2 == 0) for i in range(20)
        ]
        for r in runners:
            r.heartbeat()
        created: list[int] = []
        creators_done = threading.Event()

        def create(offset: int) -> None:
            for i in range(offset, 300, 4):
                created.append(admin_clients[offset].run(wf, {"n": i})["id"])

        admin_clients = [Admin(hub.url).login() for _ in range(4)]
        stop = threading.Event()
        threads = [threading.Thread(target=r.loop, args=(stop,)) for r in runners]
        makers = [threading.Thread(target=create, args=(k,)) for k in range(4)]
        for t in makers:
            t.start()
        # a backlog first (so chained runners surely get work handed over), then all at once
        wait_for(lambda: len(created) >= 60, timeout=60, what="60 executions queued")
        for t in threads:
            t.start()
        for t in makers:
            t.join()
        creators_done.set()
        assert len(set(created)) == 300

        def finished() -> bool:
            return sum(len(r.done) for r in runners) >= 300

        wait_for(finished, timeout=120, what="300 executions completed")
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        runs = Counter(ex for r in runners for ex, _ in r.done)
        assert set(runs) == set(created)
        assert all(count == 1 for count in runs.values()), runs.most_common(3)
        assert [e for r in runners for e in r.errors] == []
        assert all(attempt == 1 for r in runners for _, attempt in r.done)
        with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT status, COUNT(*) FROM executions GROUP BY status")
            assert dict(cur.fetchall()) == {"COMPLETED": 300}
            cur.execute("SELECT COUNT(*) FROM runners WHERE current_execution_id IS NOT NULL")
            assert cur.fetchone()[0] == 0
            cur.execute("SELECT COUNT(*) FROM execution_logs")
            assert cur.fetchone()[0] == 600
        # the work was spread over the fleet, not taken by one runner, and chaining did happen
        assert sum(1 for r in runners if r.done) >= 10
        assert sum(r.handed_over for r in runners) > 0
        assert all(r.handed_over == 0 for r in runners if not r.chained)
    finally:
        hub.stop()


def test_two_hub_processes_sweeping_requeue_once(
    tmp_path: Path, pg_url: str, vendor_keys: tuple[Path, Path]
) -> None:
    env = hub_env(
        pg_url,
        vendor_keys[1],
        stale_check_interval=0.3,
        runner_offline_after=1,
        assigned_grace=0.5,
        running_grace=0.5,
        queue_timeout=3600,
    )
    first = HubProcess(tmp_path / "data", env, tmp_path / "hub1.log").start()
    second = HubProcess(tmp_path / "data", env, tmp_path / "hub2.log").start()
    try:
        admin = Admin(first.url).setup(make_license(vendor_keys[0], runners=5))
        wf = admin.workflow()
        zombie = FakeRunner(second.url, admin.runner("zombie"))
        zombie.heartbeat()
        ex = admin.run(wf, {"x": 1})["id"]
        payload = wait_for(zombie.poll, timeout=10, what="zombie gets the execution")
        assert payload["id"] == ex and payload["attempt"] == 1
        # the zombie falls silent: both hubs sweep; it is re-queued exactly once
        wait_for(lambda: admin.execution(ex)["status"] == "QUEUED", timeout=20, what="re-queue")
        time.sleep(1.5)  # several more sweeps by both processes
        got = admin.execution(ex)
        assert got["status"] == "QUEUED" and got["requeue_count"] == 1 and got["attempt"] == 1
        # a second runner takes it (attempt 2); the zombie's late writes are refused
        fresh = FakeRunner(first.url, admin.runner("fresh"))
        fresh.heartbeat()
        second_payload = wait_for(fresh.poll, timeout=10, what="fresh runner gets it")
        assert second_payload["attempt"] == 2
        late = zombie.http.post(
            f"/api/runner/executions/{ex}/status", json={"attempt": 1, "status": "COMPLETED"}
        )
        assert late.status_code in (403, 409)
        # the fresh runner also vanishes while ASSIGNED: after one re-queue it is FAILED
        wait_for(lambda: admin.execution(ex)["status"] == "FAILED", timeout=20, what="failed")
        got = admin.execution(ex)
        assert got["reason"] == "runner_lost" and got["requeue_count"] == 1
        with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT owner FROM job_runs WHERE name = 'stale_executions'")
            assert cur.fetchone() is not None
        for proc in (first, second):
            assert proc.proc is not None and proc.proc.poll() is None
        assert "Traceback" not in (tmp_path / "hub1.log").read_text()
        assert "Traceback" not in (tmp_path / "hub2.log").read_text()
    finally:
        first.stop()
        second.stop()


def test_idle_poll_cache_sees_changes_from_another_hub_process(
    tmp_path: Path, pg_url: str, vendor_keys: tuple[Path, Path]
) -> None:
    """Idle polls are answered from memory; a change made through another hub process
    (new work, a regenerated secret) reaches them through LISTEN/NOTIFY within moments."""
    env = hub_env(pg_url, vendor_keys[1])
    first = HubProcess(tmp_path / "data", env, tmp_path / "hub1.log").start()
    second = HubProcess(tmp_path / "data", env, tmp_path / "hub2.log").start()
    try:
        admin = Admin(first.url).setup(make_license(vendor_keys[0], runners=5))
        wf = admin.workflow()
        creds = admin.runner("cached")
        runner = FakeRunner(second.url, creds)
        runner.heartbeat()
        for _ in range(5):  # warm the idle cache in the second process
            assert runner.poll() is None
        ex = admin.run(wf, {"via": "first"})["id"]  # created (and maybe assigned) in the first
        payload = wait_for(runner.poll, timeout=5, interval=0.02, what="work seen by 2nd hub")
        assert payload["id"] == ex
        runner.execute(payload)
        for _ in range(5):
            assert runner.poll() is None
        res = admin.http.post(f"/api/runners/{creds['id']}/regenerate-secret")
        assert res.status_code == 200
        started = time.monotonic()
        wait_for(
            lambda: runner.http.get("/api/runner/poll").status_code == 401,
            timeout=5,
            interval=0.02,
            what="old token refused by the 2nd hub",
        )
        assert time.monotonic() - started < 5
        assert runner.errors == []
    finally:
        first.stop()
        second.stop()


def test_idle_poll_keeps_the_connection_open(
    tmp_path: Path, pg_url: str, vendor_keys: tuple[Path, Path]
) -> None:
    """waitress closes connections after 204 by default; the hub keeps them (runners poll
    every 5 s over one keep-alive connection)."""
    import http.client

    hub = HubProcess(tmp_path / "data", hub_env(pg_url, vendor_keys[1]), tmp_path / "h.log")
    hub.start()
    try:
        admin = Admin(hub.url).setup(make_license(vendor_keys[0], runners=2))
        runner = FakeRunner(hub.url, admin.runner("ka"))
        token = runner.http.headers["Authorization"]
        conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
        conn.request("GET", "/api/runner/poll", headers={"Authorization": token})
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        assert first.status == 204 and not first.will_close
        assert first.getheader("Connection") is None
        conn.request("GET", "/api/runner/poll", headers={"Authorization": token})
        second = conn.getresponse()
        second.read()
        assert second.status == 204 and conn.sock is sock  # same TCP connection reused
        conn.request(
            "GET", "/api/runner/poll", headers={"Authorization": token, "Connection": "close"}
        )
        third = conn.getresponse()
        third.read()
        assert third.will_close  # an explicit close is still honoured
        conn.close()
    finally:
        hub.stop()


def test_buffered_heartbeats_reach_the_database(
    tmp_path: Path, pg_url: str, vendor_keys: tuple[Path, Path]
) -> None:
    """A known-idle runner's heartbeat is answered at once and written within a second."""
    hub = HubProcess(tmp_path / "data", hub_env(pg_url, vendor_keys[1]), tmp_path / "h.log")
    hub.start()
    try:
        admin = Admin(hub.url).setup(make_license(vendor_keys[0], runners=2))
        creds = admin.runner("buffered")
        runner = FakeRunner(hub.url, creds)
        assert runner.heartbeat()["status"] == "ONLINE"
        assert runner.poll() is None  # now known idle: later heartbeats are buffered
        for cpu in (11.0, 22.0, 33.0):
            res = runner.http.post("/api/runner/heartbeat", json={"cpu": cpu, "memory": 1.0})
            assert res.json() == {"status": "ONLINE", "stop": []}

        def stored() -> bool:
            with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
                cur.execute("SELECT cpu, status FROM runners WHERE id = %s", (creds["id"],))
                return cur.fetchone() == (33.0, "ONLINE")

        wait_for(stored, timeout=5, what="buffered heartbeat written")
        got = admin.http.get(f"/api/runners/{creds['id']}").json()
        assert [s[1] for s in got["metrics_history"]][-3:] == [11.0, 22.0, 33.0]
        # a regenerated secret still stops the old token at once (cache invalidated)
        assert admin.http.post(f"/api/runners/{creds['id']}/regenerate-secret").status_code == 200
        wait_for(
            lambda: runner.http.post("/api/runner/heartbeat", json={"cpu": 1}).status_code == 401,
            timeout=5,
            interval=0.02,
            what="old token refused on heartbeat",
        )
    finally:
        hub.stop()
