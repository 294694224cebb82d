"""The wake-up channel's figures for ``bench/fleet.py --only wake`` (a part of the fleet bench).

1. Request → RUNNING latency with an idle real runner (``exekra runner start``), measured by
   the hub's own clock (``started_at - queued_at``): on the embedded default (SQLite, in-memory
   queue) with the channel and, for comparison, polling only; and on PostgreSQL + Redis with two
   hub processes and an ``exekra hub worker``, the runner connected to the first hub and the
   requests sent to the second.
2. Hub memory and CPU with 1,000 and 10,000 simulated idle runners holding the channel (one
   event stream each, from two client processes) while nothing is queued.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
PG_DSN = os.environ.get("EXEKRA_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("EXEKRA_TEST_REDIS", "redis://127.0.0.1:6379/0")
GRAPH = {
    "format": 1,
    "variables": {},
    "nodes": [{"id": "hello", "type": "log.write", "params": {"message": "hi"}}],
    "edges": [],
}
ADMIN = {"email": "admin@bench.test", "password": "correct-horse-battery"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A child process of the bench (hub, worker, runner), stopped with SIGTERM."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "exekra", *args],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=open(log, "ab"),  # noqa: SIM115 - lives with the process
        )

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()


def _wait_health(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code in (200, 503):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"hub at {url} did not start")


class Platform:
    """Hub process(es) on one database, an admin client, and real runners."""

    def __init__(self, work: Path, env: dict[str, str], hubs: int = 1, worker: bool = False):
        from hub.services.license import issue, keygen

        self.work = work
        priv, pub = keygen(work / "vendor")
        self.env = {
            **os.environ,
            **env,
            "EXEKRA_DATA_DIR": str(work / "data"),
            "EXEKRA_LICENSE_PUBLIC_KEY": str(pub),
            "EXEKRA_BCRYPT_ROUNDS": "4",
            "EXEKRA_RATE_LIMIT_PER_MINUTE": "100000000",
            "EXEKRA_LOG_LEVEL": "WARNING",
        }
        self.procs: list[Proc] = []
        self.urls: list[str] = []
        self.channel_ports: list[int] = []
        for i in range(hubs):
            port = _free_port()
            self.channel_ports.append(_free_port())
            env_i = {**self.env, "EXEKRA_CHANNEL_PORT": str(self.channel_ports[-1])}
            self.procs.append(
                Proc(["hub", "serve", "--port", str(port)], env_i, work / f"hub{i}.log")
            )
            self.urls.append(f"http://127.0.0.1:{port}")
            _wait_health(self.urls[-1])
        if worker:
            self.procs.append(Proc(["hub", "worker"], self.env, work / "worker.log"))
        self.http = httpx.Client(base_url=self.urls[0], timeout=30)
        lic = issue(priv.read_bytes(), organization="Bench", email=ADMIN["email"],
                    max_runners=20_000, days=30)  # fmt: skip
        assert self.http.post("/api/license", content=lic).status_code == 200
        res = self.http.post("/api/setup/admin", json={**ADMIN, "name": "B"})
        assert res.status_code == 201, res.text
        token = self.http.post("/api/auth/login", json=ADMIN).json()["token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        res = self.http.post("/api/workflows", json={"name": "Wake", "graph": GRAPH})
        self.workflow = res.json()["id"]
        assert self.http.post(f"/api/workflows/{self.workflow}/publish").status_code == 200

    def runner(self, name: str, **settings: str) -> int:
        reg = self.http.post("/api/runners", json={"name": name}).json()
        env = {**os.environ, "EXEKRA_RUNNER_DATA_DIR": str(self.work / f"runner-{name}"),
               "EXEKRA_RUNNER_KEYRING": "0"}  # fmt: skip
        for key, value in settings.items():
            env["EXEKRA_RUNNER_" + key.upper()] = value
        subprocess.run(
            [sys.executable, "-m", "exekra", "runner", "connect", "--hub", self.urls[0],
             "--key", reg["machine_key"], "--secret", reg["machine_secret"]],
            env=env, cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
        self.procs.append(Proc(["runner", "start"], env, self.work / f"runner-{name}.log"))
        deadline = time.monotonic() + 30
        while self.http.get(f"/api/runners/{reg['id']}").json()["status"] != "ONLINE":
            if time.monotonic() > deadline:
                raise SystemExit("runner did not come ONLINE")
            time.sleep(0.1)
        return int(reg["id"])

    def latencies(self, count: int, via: int = 0, settle: float = 1.0) -> list[float]:
        """``count`` sequential runs requested through hub ``via``: queued → RUNNING, in ms."""
        http = httpx.Client(base_url=self.urls[via], timeout=30, headers=dict(self.http.headers))
        out = []
        time.sleep(settle)  # the runner is idle and its channel open
        for _ in range(count):
            res = http.post("/api/executions", json={"workflow_id": self.workflow})
            waited = time.monotonic() + 10
            while res.status_code == 403 and time.monotonic() < waited:
                # another hub process learns of the license within its 5 s cache
                time.sleep(0.5)
                res = http.post("/api/executions", json={"workflow_id": self.workflow})
            if res.status_code != 201:
                raise SystemExit(f"run refused by {self.urls[via]}: {res.text}")
            ex_id = res.json()["id"]
            while True:
                ex = http.get(f"/api/executions/{ex_id}").json()
                if ex["status"] in ("COMPLETED", "FAILED", "STOPPED"):
                    break
                time.sleep(0.02)
            queued, started = (dt.datetime.fromisoformat(ex[k][:-1]) for k in
                               ("queued_at", "started_at"))  # fmt: skip
            out.append((started - queued).total_seconds() * 1000)
            time.sleep(0.2)  # back to idle, as between a designer's clicks
        http.close()
        return out

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.http.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _row(name: str, values: list[float]) -> str:
    return (
        f"{name:72} {len(values):4d} {statistics.median(values):9.0f} {_pct(values, 0.99):9.0f}"
        f" {max(values):9.0f}"
    )


def _pg_database() -> tuple[str, Any]:
    import psycopg2

    name = f"exekra_wake_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_DSN + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_DSN}/{name}", admin


def _drop(url: str, admin: Any) -> None:
    name = url.rsplit("/", 1)[1]
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def latency_figures(samples: int) -> None:
    print(f"\nrequest → RUNNING with an idle runner (hub clock, {samples} sequential runs each)")
    print(f"{'setup':72} {'runs':>4} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    work = Path(tempfile.mkdtemp(prefix="exekra-wake-"))
    plat = Platform(work / "embedded", {})
    try:
        plat.runner("idle")
        print(_row("embedded (SQLite, in-memory queue), wake-up channel", plat.latencies(samples)))
        plat.runner("poller", wake_channel="off")
        # the first runner is idle too and would take the work: stop it
        plat.procs[-2].stop()
        polled = plat.latencies(max(5, samples // 4))
        print(_row("embedded, polling only (wake_channel off, poll every 5 s)", polled))
    finally:
        plat.close()
    db_url, admin = _pg_database()
    env = {"EXEKRA_DATABASE_URL": db_url, "EXEKRA_REDIS_URL": REDIS_URL}
    plat = Platform(work / "pg", env, hubs=2, worker=True)
    try:
        plat.runner("fleet")
        print(_row("PostgreSQL + Redis, 2 hub processes + worker, request to the other hub",
                   plat.latencies(samples, via=1)))  # fmt: skip
    finally:
        plat.close()
        _drop(db_url, admin)


# -- idle runners holding the channel ------------------------------------------------------------


def _holder(args: tuple[int, list[str], Any]) -> None:
    """A client process: hold one event stream per token until told to stop."""
    port, tokens, ready = args

    async def hold(token: str, opened: list[int]) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"GET /api/runner/wait HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            await writer.drain()
            head = await reader.readuntil(b"event: open")
            if b" 200 " in head.split(b"\r\n", 1)[0]:
                opened[0] += 1
            while await reader.read(4096):
                pass
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return

    async def main() -> None:
        opened = [0]
        tasks = []
        for i in range(0, len(tokens), 200):  # connect in waves, as a fleet does over time
            tasks += [asyncio.create_task(hold(t, opened)) for t in tokens[i : i + 200]]
            await asyncio.sleep(0.05)
        while opened[0] < len(tokens) * 0.999:
            await asyncio.sleep(0.2)
        ready.put(opened[0])
        await asyncio.gather(*tasks)

    asyncio.run(main())


def idle_figures(counts: list[int]) -> None:
    import psycopg2

    from hub.auth.tokens import TokenService

    print("\nidle runners holding the wake-up channel (one hub process, nothing queued)")
    print(f"{'runners':>8} {'connected':>10} {'hub RSS MB':>11} {'+MB':>7} {'hub CPU %':>10}")
    work = Path(tempfile.mkdtemp(prefix="exekra-wake-idle-"))
    db_url, admin = _pg_database()
    plat = Platform(work, {"EXEKRA_DATABASE_URL": db_url, "EXEKRA_CONNECTION_LIMIT": "5000"})
    hub = psutil.Process(plat.procs[0].popen.pid)
    try:
        conn = psycopg2.connect(db_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO runners (name, machine_key, secret_hash, secret_version, status,"
                " labels, metrics_history, created_at, last_seen) SELECT 'idle-' || g,"
                " 'FC-IDLE' || g, 'x', 1, 'ONLINE', '[]', '[]', now(), now()"
                " FROM generate_series(1, %s) g RETURNING id",
                (max(counts),),
            )
            ids = [r[0] for r in cur.fetchall()]
        conn.close()
        minter = TokenService((work / "data" / "jwt-secret").read_text().strip())
        tokens = [minter.issue_runner(i, 1)[0] for i in ids]
        channel_port = plat.channel_ports[0]
        hub.cpu_percent(None)
        time.sleep(2)
        base_rss = hub.memory_info().rss / 2**20
        for count in counts:
            ctx = mp.get_context("spawn")
            ready = ctx.Queue()
            half = count // 2
            procs = [
                ctx.Process(target=_holder, args=((channel_port, part, ready),), daemon=True)
                for part in (tokens[:half], tokens[half:count])
            ]
            for p in procs:
                p.start()
            connected = ready.get(timeout=300) + ready.get(timeout=300)
            time.sleep(3)  # settle
            rss = hub.memory_info().rss / 2**20
            cpu0 = sum(hub.cpu_times()[:2])
            time.sleep(30)
            cpu = (sum(hub.cpu_times()[:2]) - cpu0) / 30 * 100
            print(f"{count:8,d} {connected:10,d} {rss:11.0f} {rss - base_rss:7.0f} {cpu:10.1f}")
            for p in procs:
                p.terminate()
                p.join(10)
            time.sleep(3)
    finally:
        plat.close()
        _drop(db_url, admin)


def run(samples: int = 40, idle: tuple[int, ...] = (1000, 10_000)) -> None:
    latency_figures(samples)
    idle_figures(list(idle))


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
