"""Fleet benchmark: poll/heartbeat throughput and latency, fleet size, dispatch throughput.

Run from the repository root (needs the local PostgreSQL; creates and drops its own database):

    .venv/bin/python bench/fleet.py [--runners 5000] [--history 20000] [--seconds 8]

It starts a real hub (``exekra hub serve``) on a fresh PostgreSQL database holding a realistic
fleet (``--runners`` registered runners, ``--history`` finished executions), then measures with
keep-alive HTTP clients in several processes:

1. closed loop, every client as fast as it can: poll only, heartbeat only, the spec's mix
   (6 polls per heartbeat), and a bare Falcon + waitress JSON hello-world on the same machine;
2. how many runners the mixed throughput sustains at the spec's cadence (0.23 requests/s per
   runner: a poll every 5 s and a heartbeat every 30 s);
3. open loop at the rate of 5,000 runners: poll p99 latency measured from the scheduled send
   time (so queueing counts);
4. dispatch: executions/s from QUEUED to COMPLETED with instant fake runners over HTTP, beside
   a raw ``FOR UPDATE SKIP LOCKED`` claim loop (psycopg2, 4 workers) on the same database.

It prints figures; it never fails on them (not a test).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_DSN = os.environ.get("EXEKRA_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
CADENCE = 1 / 5 + 1 / 30  # requests per second per runner (poll every 5 s, heartbeat every 30 s)
GRAPH = {
    "format": 1,
    "variables": {},
    "nodes": [{"id": "hello", "type": "log.write", "params": {"message": "hi"}}],
    "edges": [],
}


# -- bare hello-world server -----------------------------------------------------------------
def bare_server(port: int, threads: int) -> None:
    import logging

    import falcon
    from waitress import serve

    logging.getLogger("waitress").setLevel(logging.ERROR)

    class Hello:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.media = {"hello": "world"}

    app = falcon.App()
    app.add_route("/hello", Hello())
    serve(
        app,
        host="127.0.0.1",
        port=port,
        threads=threads,
        connection_limit=2000,
        asyncore_use_poll=True,
        _quiet=True,
    )


# -- load generation -------------------------------------------------------------------------
def _client_thread(
    port: int,
    plan: list[tuple[str, str, bytes | None, str]],
    tokens: list[str],
    deadline: float,
    interval: float,
    start_at: float,
    out: list[tuple[str, float, int]],
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = 0
    next_send = start_at
    while True:
        now = time.perf_counter()
        if interval:
            if next_send > now:
                time.sleep(next_send - now)
            scheduled = next_send
            next_send += interval
        else:
            scheduled = now
        if scheduled >= deadline:
            break
        kind, path, body, method = plan[i % len(plan)]
        token = tokens[i % len(tokens)] if tokens else ""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            res.read()
            status = res.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = 0
        out.append((kind, time.perf_counter() - scheduled, status))
        i += 1
    conn.close()


def _client_process(args: tuple) -> list[tuple[str, float, int]]:
    port, plan, tokens, seconds, threads, rate, offset = args
    out: list[tuple[str, float, int]] = []
    start = time.perf_counter() + 0.2
    deadline = start + seconds
    interval = threads / rate if rate else 0.0
    workers = []
    for t in range(threads):
        mine = tokens[t::threads] or tokens
        begin = start + (interval * (t / threads + offset) if interval else 0)
        th = threading.Thread(
            target=_client_thread,
            args=(port, plan, mine, deadline, interval, begin, out),
        )
        th.start()
        workers.append(th)
    for th in workers:
        th.join()
    return out


def load(
    port: int,
    plan: list[tuple[str, str, bytes | None, str]],
    tokens: list[str],
    *,
    seconds: float,
    processes: int = 2,
    threads: int = 8,
    rate: float = 0.0,
) -> dict[str, dict[str, float]]:
    """Run clients; ``rate`` > 0 makes it open loop at that total request rate."""
    per_proc_rate = rate / processes if rate else 0.0
    jobs = [
        (port, plan, tokens[p::processes] or tokens, seconds, threads, per_proc_rate, p / processes)
        for p in range(processes)
    ]
    with mp.get_context("fork").Pool(processes) as pool:
        results = pool.map(_client_process, jobs)
    samples = [s for r in results for s in r]
    stats: dict[str, dict[str, float]] = {}
    for kind in sorted({s[0] for s in samples}):
        lat = sorted(s[1] for s in samples if s[0] == kind)
        bad = sum(1 for s in samples if s[0] == kind and s[2] not in (200, 204))
        stats[kind] = {
            "rps": len(lat) / seconds,
            "p50": lat[len(lat) // 2] * 1000,
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "errors": bad,
            "n": len(lat),
        }
    total = sum(v["n"] for v in stats.values())
    stats["all"] = {"rps": total / seconds, "p50": 0, "p99": 0, "errors": 0, "n": total}
    return stats


# -- setup -----------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status in (200, 503):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server on {port} did not come up")


class Hub:
    def __init__(self, port: int) -> None:
        self.port = port
        self.token = ""

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        raw: str | None = None,
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {}
        tok = self.token if token is None else token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        data = (
            raw.encode()
            if raw is not None
            else (json.dumps(body).encode() if body is not None else None)
        )
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        text = res.read()
        conn.close()
        return res.status, (json.loads(text) if text else None)


def seed(db_url: str, runners: int, history: int, wf_id: int, secret_hash: str) -> None:
    import psycopg2

    conn = psycopg2.connect(db_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO runners (name, machine_key, secret_hash, secret_version, status, labels,"
            " metrics_history, created_at, last_seen)"
            " SELECT 'bench-' || g, 'FC-BENCH' || g, %s, 1, 'OFFLINE', '[]', '[]', now(), NULL"
            " FROM generate_series(1, %s) g",
            (secret_hash, runners),
        )
        cur.execute(
            "INSERT INTO executions (workflow_id, version, status, required_labels, priority,"
            " trigger, inputs, attempt, requeue_count, stop_requested, queued_at, started_at,"
            " finished_at, updated_at, metrics, runner_id)"
            " SELECT %s, 1, CASE WHEN g %% 10 = 0 THEN 'FAILED' ELSE 'COMPLETED' END, '[]', 0,"
            " '{}', json_build_object('n', g)::text, 1, 0, false,"
            " now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval,"
            " now() - (g || ' minutes')::interval + interval '30 seconds',"
            " now() - (g || ' minutes')::interval,"
            ' \'{"cpu_avg": 10, "cpu_peak": 40, "mem_avg_mb": 120, "mem_peak_mb": 200}\','
            " (SELECT id FROM runners ORDER BY id LIMIT 1)"
            " FROM generate_series(1, %s) g",
            (wf_id, history),
        )
        cur.execute("ANALYZE")
    conn.close()


def queue_executions(db_url: str, wf_id: int, count: int) -> None:
    """Queue ``count`` executions, after a VACUUM so every dispatch variant starts alike (the
    previous variant's claimed rows would otherwise leave dead entries at the head of the
    queue index for the next one to step over)."""
    import psycopg2

    conn = psycopg2.connect(db_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) executions")
        cur.execute(
            "INSERT INTO executions (workflow_id, version, status, required_labels, priority,"
            " trigger, inputs, attempt, requeue_count, stop_requested, queued_at, updated_at)"
            " SELECT %s, 1, 'QUEUED', '[]', 0, '{}', json_build_object('d', g)::text, 0, 0,"
            " false, now(), now() FROM generate_series(1, %s) g",
            (wf_id, count),
        )
        cur.execute("NOTIFY exekra_fleet")  # rows written behind the hub's back: tell it
    conn.close()


def count_status(db_url: str, status: str) -> int:
    import psycopg2

    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM executions WHERE status = %s", (status,))
        n = int(cur.fetchone()[0])
    conn.close()
    return n


def _raw_claimer(args: tuple[str, bool]) -> tuple[int, float, float, float]:
    """Claim QUEUED rows until none is left (``lifecycle``: then also mark each RUNNING and
    COMPLETED, one autocommit statement each, as a runner's reports would); returns (claims,
    time.time() at the end, 0 (its own CPU is not counted), CPU seconds of its backend)."""
    import psutil
    import psycopg2

    db_url, lifecycle = args
    conn = psycopg2.connect(db_url)
    conn.autocommit = True
    backend = psutil.Process(conn.get_backend_pid())
    cpu0 = sum(backend.cpu_times()[:2])
    claimed = 0
    with conn.cursor() as cur:
        while True:
            cur.execute(
                "UPDATE executions SET status = 'ASSIGNED', attempt = attempt + 1"
                " WHERE id = (SELECT id FROM executions WHERE status = 'QUEUED'"
                " ORDER BY priority DESC, queued_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                " RETURNING id"
            )
            row = cur.fetchone()
            if row is None:
                break
            claimed += 1
            if lifecycle:
                for status in ("RUNNING", "COMPLETED"):
                    cur.execute(
                        "UPDATE executions SET status = %s, updated_at = now() WHERE id = %s",
                        (status, row[0]),
                    )
    cpu = sum(backend.cpu_times()[:2]) - cpu0
    conn.close()
    return claimed, time.time(), 0.0, cpu


def _fake_runner(args: tuple[int, list[str], float, bool]) -> tuple[int, float, float, float]:
    """Instant fake runners (one keep-alive connection each) doing what the runner agent does:
    report RUNNING, then the final status. ``chained``: the final report asks for the next
    execution (``next: true``) and the runner polls only when none was handed over; otherwise
    every execution starts with a poll. Returns (executions done, time.time() of the last
    completion, CPU seconds of this client process, 0)."""
    port, tokens, deadline, chained = args
    done = 0
    last = 0.0
    lock = threading.Lock()

    def post(conn: http.client.HTTPConnection, path: str, body: dict, auth: dict) -> dict:
        conn.request("POST", path, body=json.dumps(body).encode(), headers=auth)
        res = conn.getresponse()
        data = res.read()
        assert res.status == 200, (res.status, data)
        return dict(json.loads(data))

    def work(token: str) -> None:
        nonlocal done, last
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        idle = 0
        ex = None
        while time.time() < deadline and idle < 20:
            if ex is None:
                conn.request("GET", "/api/runner/poll", headers=auth)
                res = conn.getresponse()
                body = res.read()
                if res.status != 200:
                    idle += 1
                    time.sleep(0.01)
                    continue
                ex = json.loads(body)["execution"]
            idle = 0
            path = f"/api/runner/executions/{ex['id']}/status"
            post(conn, path, {"attempt": ex["attempt"], "status": "RUNNING"}, auth)
            final = {"attempt": ex["attempt"], "status": "COMPLETED"}
            if chained:
                final["next"] = True
            ex = post(conn, path, final, auth).get("next")
            with lock:
                done += 1
                last = time.time()
        conn.close()

    threads = [threading.Thread(target=work, args=(t,)) for t in tokens]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return done, last, usage.ru_utime + usage.ru_stime, 0.0


def cpu_seconds(hub_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the hub process and by all PostgreSQL processes."""
    import psutil

    def used(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    hub = used(psutil.Process(hub_pid))
    pg = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] and proc.info["name"].startswith("postgres"):
            try:
                pg += used(proc)
            except psutil.Error:
                pass
    return hub, pg


def dispatch_figures(
    db_url: str, wf_id: int, port: int, hub_pid: int, tokens: list[str], n: int
) -> None:
    """Dispatch through the hub (32 instant fake runners over HTTP, chained as the runner agent
    does and with a poll per execution) beside raw SQL loops on the same database."""
    print(
        f"\ndispatch of {n} executions QUEUED -> COMPLETED, CPU per execution on the 2 cores"
        " shared by everything"
    )
    print(f"{'':44} {'exec/s':>7} {'vs raw':>7} {'hub':>7} {'PG':>7} {'clients':>7}")
    hub_jobs = [(port, tokens[i::2], time.time() + 300) for i in range(2)]
    Worker = Callable[[Any], tuple[int, float, float, float]]
    variants: list[tuple[str, Worker, list[Any]]] = [
        (
            "hub, chained (RUNNING + COMPLETED w/ next)",
            _fake_runner,
            [(*j, True) for j in hub_jobs],
        ),
        ("hub, poll + RUNNING + COMPLETED", _fake_runner, [(*j, False) for j in hub_jobs]),
        ("raw claim loop (FOR UPDATE SKIP LOCKED)", _raw_claimer, [(db_url, False)] * 4),
        ("raw lifecycle loop (claim, RUNNING, COMPLETED)", _raw_claimer, [(db_url, True)] * 4),
    ]
    rows = []
    for name, worker, jobs in variants:
        queue_executions(db_url, wf_id, n)
        cpu0 = cpu_seconds(hub_pid)
        t0 = time.time()
        with mp.get_context("fork").Pool(len(jobs)) as pool:
            results = pool.map(worker, jobs)
        cpu1 = cpu_seconds(hub_pid)
        done = sum(r[0] for r in results)
        secs = max(r[1] for r in results) - t0
        # each result: (executions, end time, client CPU, CPU of a backend that has exited)
        pg_cpu = cpu1[1] - cpu0[1] + sum(r[3] for r in results)
        hub_cpu = (cpu1[0] - cpu0[0]) if worker is _fake_runner else 0.0
        rows.append((name, done / secs, hub_cpu / done, pg_cpu / done,
                     sum(r[2] for r in results) / done))  # fmt: skip
    raw_rate = rows[2][1]

    def ms(value: float) -> str:
        return f"{value * 1000:.2f}" if value else "-"

    for name, rate, hub_cpu, pg_cpu, client_cpu in rows:
        print(
            f"{name:44} {rate:7.0f} {rate / raw_rate:7.0%} {ms(hub_cpu):>7} {ms(pg_cpu):>7}"
            f" {ms(client_cpu):>7}"
        )
    print(
        "(raw loops: 4 psycopg2 workers, one autocommit statement per step; CPU in ms; "
        "PG = all PostgreSQL processes, WAL writer and autovacuum included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runners", type=int, default=5000)
    parser.add_argument("--history", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--driven", type=int, default=200, help="runner tokens the clients use")
    parser.add_argument("--dispatch", type=int, default=2000, help="executions to dispatch")
    parser.add_argument("--threads", type=int, default=16, help="hub (and bare) threads")
    parser.add_argument(
        "--only",
        choices=("http", "dispatch", "wake"),
        help="run one part: the HTTP figures (closed and open loop), dispatch, or the wake-up "
        "channel (request -> RUNNING latency; idle runners holding the channel)",
    )
    parser.add_argument("--wake-samples", type=int, default=40, help="runs per latency figure")
    args = parser.parse_args()
    if args.only in (None, "wake"):
        import fleet_wake

        fleet_wake.run(args.wake_samples)
        if args.only == "wake":
            return

    import psycopg2

    from hub.auth.passwords import hash_secret
    from hub.services.license import issue, keygen

    work = Path(tempfile.mkdtemp(prefix="exekra-bench-"))
    db_name = f"exekra_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_DSN + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db_name}"')
    db_url = f"{PG_DSN}/{db_name}"
    priv, pub = keygen(work / "vendor")
    port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "EXEKRA_DATA_DIR": str(work / "data"),
        "EXEKRA_DATABASE_URL": db_url,
        "EXEKRA_LICENSE_PUBLIC_KEY": str(pub),
        "EXEKRA_BCRYPT_ROUNDS": "4",
        "EXEKRA_RATE_LIMIT_PER_MINUTE": "100000000",
        "EXEKRA_THREADS": str(args.threads),
        "EXEKRA_CONNECTION_LIMIT": "5000",
        "EXEKRA_LOG_LEVEL": "WARNING",
    }
    hub_proc = subprocess.Popen(
        [sys.executable, "-m", "exekra", "hub", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "hub.log", "wb"),
    )
    bare = mp.get_context("spawn").Process(
        target=bare_server, args=(bare_port, args.threads), daemon=True
    )
    bare.start()
    try:
        wait_http(port, "/api/health")
        wait_http(bare_port, "/hello")
        hub = Hub(port)
        lic = issue(
            priv.read_bytes(),
            organization="Bench",
            email="admin@bench.test",
            max_runners=args.runners + 100,
            days=30,
        )
        assert hub.call("POST", "/api/license", raw=lic)[0] == 200
        assert (
            hub.call(
                "POST",
                "/api/setup/admin",
                {"email": "admin@bench.test", "password": "correct-horse-battery", "name": "B"},
            )[0]
            == 201
        )
        _, login = hub.call(
            "POST",
            "/api/auth/login",
            {"email": "admin@bench.test", "password": "correct-horse-battery"},
        )
        hub.token = login["token"]
        status, wf = hub.call(
            "POST", "/api/workflows", {"name": "Bench", "description": "", "graph": GRAPH}
        )
        assert status == 201, wf
        assert hub.call("POST", f"/api/workflows/{wf['id']}/publish", {})[0] == 200
        secret = secrets.token_hex(32)
        t0 = time.perf_counter()
        seed(db_url, args.runners, args.history, wf["id"], hash_secret(secret, 4))
        print(
            f"seeded {args.runners} runners and {args.history} past executions "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        # authenticate is rate-limited per client (brute force): one real exchange, the rest
        # of the driven runners' tokens are minted with the hub's own key (same claims)
        st, out = hub.call(
            "POST",
            "/api/runner/authenticate",
            {"machine_key": "FC-BENCH1", "machine_secret": secret},
            token="",
        )
        assert st == 200, out
        from hub.auth.tokens import TokenService

        minter = TokenService((work / "data" / "jwt-secret").read_text().strip())
        tokens = [out["token"]] + [minter.issue_runner(i, 1)[0] for i in range(2, args.driven + 1)]
        hb = json.dumps({"cpu": 12.5, "memory": 48.0, "disk": 61.0, "version": "0.1.0"}).encode()
        poll = ("poll", "/api/runner/poll", None, "GET")
        beat = ("heartbeat", "/api/runner/heartbeat", hb, "POST")
        hello = ("hello", "/hello", None, "GET")
        # every driven runner ONLINE once (as in real life), then measure
        load(port, [beat], tokens, seconds=1.0)
        if args.only != "dispatch":
            secs = args.seconds
            print(
                f"\nclosed loop, 2 client processes x 8 keep-alive connections, {secs:.0f} s each"
                f" (hub: 1 process, {args.threads} threads; 2 cores shared with PostgreSQL and the"
                " clients)"
            )
            bare_stats = load(bare_port, [hello], [], seconds=secs)["hello"]
            poll_stats = load(port, [poll], tokens, seconds=secs)["poll"]
            beat_stats = load(port, [beat], tokens, seconds=secs)["heartbeat"]
            mix = load(port, [poll] * 6 + [beat], tokens, seconds=secs)
            rows = [
                ("bare Falcon+waitress hello", bare_stats),
                ("poll (idle runner, 204)", poll_stats),
                ("heartbeat", beat_stats),
                ("mix 6 polls : 1 heartbeat", mix["all"]),
            ]
            print(f"{'endpoint':32} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} errors")
            for name, s in rows:
                ratio = s["rps"] / bare_stats["rps"] if bare_stats["rps"] else 0
                p50 = f"{s['p50']:.1f}" if s["p50"] else "-"
                p99 = f"{s['p99']:.1f}" if s["p99"] else "-"
                print(
                    f"{name:32} {s['rps']:8.0f} {p50:>8} {p99:>8} {ratio:8.0%} {int(s['errors'])}"
                )
            sustained = mix["all"]["rps"] / CADENCE
            print(
                f"\nrunners sustained at the spec's cadence ({CADENCE:.2f} req/s per runner): "
                f"{sustained:,.0f}"
            )
            rate = 5000 * CADENCE
            open_loop = load(port, [poll] * 6 + [beat], tokens, seconds=secs, rate=rate)
            print(
                f"open loop at the load of 5,000 runners ({rate:.0f} req/s): poll p50 "
                f"{open_loop['poll']['p50']:.1f} ms, p99 {open_loop['poll']['p99']:.1f} ms; "
                f"heartbeat p99 {open_loop['heartbeat']['p99']:.1f} ms; achieved "
                f"{open_loop['all']['rps']:.0f} req/s"
            )

        if args.only != "http":
            dispatch_figures(db_url, wf["id"], port, hub_proc.pid, tokens[:32], args.dispatch)
    finally:
        hub_proc.send_signal(signal.SIGTERM)
        try:
            hub_proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            hub_proc.kill()
        bare.terminate()
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (db_name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        admin.close()
        _ = statistics  # keep the import for readers extending the figures


if __name__ == "__main__":
    main()
