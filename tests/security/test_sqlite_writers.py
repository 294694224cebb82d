"""Attack-and-fault suite: SQLite writers wait for each other (issue 17 item 11).

Right after activation, ``POST /api/setup/admin`` answered 503 "database is locked": a
deferred transaction that had read first could not take the write lock after another
connection committed. Every SQLite transaction now begins IMMEDIATE and waits under the busy
timeout. One test pins the race itself (deterministic, in-process); one runs the first-run flow
and concurrent writers against a real hub process on SQLite and counts errors (zero allowed).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.e2e.platform import FAST_HUB_ENV
from tests.support import ADMIN_EMAIL, PASSWORD, HubProcess, make_license


def test_a_transaction_that_read_first_still_gets_to_write(hub_settings, tmp_path: Path) -> None:
    if "sqlite" not in hub_settings.effective_database_url:
        return  # PostgreSQL locks rows, not the database: the race is SQLite's own
    from hub.app import create_app
    from hub.models import AuditLog, User

    app = create_app(hub_settings)
    database = app.hub.database
    read_done, other_wrote = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def other_writer() -> None:
        read_done.wait(5)
        try:
            with database.connection_context():
                AuditLog.create(action="test.write", resource="x")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        other_wrote.set()

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        with database.connection_context(), database.atomic():
            assert not User.select().exists()  # the read that pins the snapshot
            read_done.set()
            # the other writer commits meanwhile if it can (today it waits for this one)
            other_wrote.wait(0.5)
            User.create(email="a@x.test", name="A", role="ADMIN", password_hash="h")
    finally:
        read_done.set()
        thread.join(10)
    assert failures == []
    with database.connection_context():
        assert User.select().count() == 1 and AuditLog.select().count() == 1
    database.close()


def test_first_run_and_concurrent_writers_on_sqlite(tmp_path: Path, vendor_keys) -> None:
    env = {
        **FAST_HUB_ENV,
        "EXEKRA_LICENSE_PUBLIC_KEY": str(vendor_keys[1]),
        "EXEKRA_LICENSE_CHECK_INTERVAL": "0.2",  # the revalidation job writes the license row
        "EXEKRA_THREADS": "8",
    }
    hub = HubProcess(tmp_path / "data", env, tmp_path / "hub.log").start()
    errors: list[str] = []
    stop = threading.Event()
    try:
        http = httpx.Client(base_url=hub.url, timeout=30)
        res = http.post("/api/license", content=make_license(vendor_keys[0], runners=6))
        assert res.status_code == 200, res.text
        res = http.post(
            "/api/setup/admin", json={"email": ADMIN_EMAIL, "password": PASSWORD, "name": "A"}
        )
        assert res.status_code == 201, res.text
        token = http.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        ).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        graph = {
            "format": 1,
            "variables": {},
            "nodes": [{"id": "a", "type": "log.write", "params": {"message": "hi"}}],
            "edges": [],
        }
        wf = http.post("/api/workflows", json={"name": "w", "graph": graph}).json()["id"]
        assert http.post(f"/api/workflows/{wf}/publish").status_code == 200
        # the scheduler fires this every minute; the sweeper runs every second (FAST_HUB_ENV)
        res = http.post(
            "/api/triggers", json={"workflow_id": wf, "type": "SCHEDULE", "cron": "* * * * *"}
        )
        assert res.status_code == 201, res.text
        runners = []
        for i in range(4):
            reg = http.post("/api/runners", json={"name": f"r{i}"}).json()
            auth = http.post(
                "/api/runner/authenticate",
                json={"machine_key": reg["machine_key"], "machine_secret": reg["machine_secret"]},
            ).json()
            runners.append(auth["token"])

        def check(res: httpx.Response, what: str) -> None:
            if res.status_code >= 500:
                errors.append(f"{what}: {res.status_code} {res.text[:200]}")

        def runner_loop(tok: str) -> None:
            c = httpx.Client(
                base_url=hub.url, timeout=30, headers={"Authorization": f"Bearer {tok}"}
            )
            while not stop.is_set():
                check(c.post("/api/runner/heartbeat", json={"cpu": 1.0}), "heartbeat")
                got = c.get("/api/runner/poll")
                check(got, "poll")
                if got.status_code == 200:
                    ex = got.json()["execution"]
                    for status in ("RUNNING", "COMPLETED"):
                        body = {"attempt": ex["attempt"], "status": status}
                        body["logs"] = [{"seq": 1 if status == "RUNNING" else 2, "message": "m"}]
                        check(
                            c.post(f"/api/runner/executions/{ex['id']}/status", json=body), status
                        )
            c.close()

        def api_loop(n: int) -> None:
            c = httpx.Client(base_url=hub.url, timeout=30, headers=dict(http.headers))
            i = 0
            while not stop.is_set():
                i += 1
                check(
                    c.post("/api/executions", json={"workflow_id": wf, "inputs": {"i": i}}), "run"
                )
                check(c.patch(f"/api/workflows/{wf}", json={"description": f"{n}-{i}"}), "patch")
                check(c.post("/api/credentials", json={"name": f"c{n}-{i}", "secret": "s"}), "cred")
            c.close()

        threads = [threading.Thread(target=runner_loop, args=(t,)) for t in runners]
        threads += [threading.Thread(target=api_loop, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        time.sleep(4)
        stop.set()
        for t in threads:
            t.join(60)
        http.close()
        # read before the shutdown: the in-memory queue logs its cancelled tasks on SIGTERM
        log = (tmp_path / "hub.log").read_text()
    finally:
        stop.set()
        hub.stop()
    assert errors == []
    assert "database is locked" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
